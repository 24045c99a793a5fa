// The problems panel (#pf-problems): deploy, server and bpmnlint problems, and a save conflict.

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'className') node.className = value;
    else if (name === 'onclick') node.addEventListener('click', value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

/**
 * Renders into `container` whenever one of its lists changes.
 *
 * `findShape(id)` returns the canvas element showing an element id (or null), `select(shape)`
 * selects and scrolls to it, `reload()` loads the latest draft after a conflict.
 */
export class ProblemsPanel {
  constructor(container, t, { findShape, select, reload, keepMine, theirsUrl }) {
    this._container = container;
    this._t = t;
    this._findShape = findShape;
    this._select = select;
    this._reload = reload;
    this._keepMine = keepMine;
    this._theirsUrl = theirsUrl;
    this._lists = { deploy: [], server: [], lint: [] };
    this._conflict = null;
  }

  /** Replaces one source's problems: items are {elementId, file, message, severity}. */
  set(source, items) {
    this._lists[source] = items;
    this.render();
  }

  get(source) {
    return this._lists[source];
  }

  /** Shows a save conflict: {message, changes: {added, removed, changed}}, or null to clear it. */
  setConflict(conflict) {
    this._conflict = conflict;
    this.render();
  }

  render() {
    if (!this._container) return;
    const t = this._t;
    const items = [
      ...this._lists.deploy.map((p) => ({ ...p, source: 'deploy' })),
      ...this._lists.server.map((p) => ({ ...p, source: 'server' })),
      ...this._lists.lint.map((p) => ({ ...p, source: 'lint' })),
    ];
    const count = el('span', { className: 'pf-problems-count' }, String(items.length));
    const children = [el('h2', { className: 'pf-problems-title' }, t('problems'), ' ', count)];
    if (this._conflict) children.push(this._renderConflict());
    if (items.length) {
      children.push(el('ul', { className: 'pf-problem-list' }, ...items.map((p) => this._renderItem(p))));
    } else {
      children.push(el('p', { className: 'pf-problems-empty' }, t('no_problems')));
    }
    this._container.replaceChildren(...children);
  }

  _renderItem(problem) {
    const t = this._t;
    const shape = problem.elementId ? this._findShape(problem.elementId) : null;
    const label = el(
      shape ? 'button' : 'span',
      { className: 'pf-problem-link', type: 'button' },
      el('span', { className: 'pf-problem-source' }, t('source_' + problem.source) + ':'),
      ' ',
      problem.elementId ? el('code', { className: 'pf-problem-element' }, problem.elementId) : null,
      problem.file ? el('span', { className: 'pf-problem-file' }, problem.file) : null,
      ' ',
      el('span', { className: 'pf-problem-message' }, problem.message),
    );
    if (shape) {
      label.addEventListener('click', () => this._select(shape));
    } else {
      label.removeAttribute('type');
    }
    return el('li', {
      className: 'pf-problem-item pf-severity-' + (problem.severity || 'error'),
      'data-source': problem.source,
      'data-element-id': problem.elementId || '',
    }, label);
  }

  _renderConflict() {
    const t = this._t;
    const { message, changes = {} } = this._conflict;
    const rows = [];
    for (const kind of ['added', 'removed', 'changed']) {
      for (const item of changes[kind] || []) {
        const shape = this._findShape(item.id);
        const text = [item.name, item.type].filter(Boolean).join(' · ');
        const body = [el('span', { className: 'pf-change-kind' }, t(kind)), ' ',
          el('code', {}, item.id), text ? ' ' + text : null];
        rows.push(el('li', { className: 'pf-change-item pf-change-' + kind, 'data-element-id': item.id },
          shape ? el('button', { type: 'button', className: 'pf-problem-link', onclick: () => this._select(shape) }, ...body)
            : el('span', { className: 'pf-problem-link' }, ...body)));
      }
    }
    return el('section', { className: 'pf-conflict', role: 'alert' },
      el('h3', {}, t('conflict')),
      el('p', { className: 'pf-conflict-message' }, message),
      el('ul', { className: 'pf-change-list' }, ...rows),
      // Nothing is lost either way: theirs opens beside this editor, and keeping mine saves it as the next revision.
      el('p', { className: 'pf-conflict-actions' },
        this._theirsUrl ? el('a', { href: this._theirsUrl, target: '_blank', rel: 'noopener', className: 'pf-theirs' },
          t('see_theirs')) : null, ' ',
        this._keepMine ? el('button', { type: 'button', className: 'pf-keep-mine', onclick: () => this._keepMine() },
          t('keep_mine')) : null, ' ',
        el('button', { type: 'button', className: 'pf-reload secondary', onclick: () => this._reload() }, t('reload'))));
  }
}
