// The editors' own words in the page's language: a dictionary from the editor's English template
// to the user's language (empty on English pages), handed over by the page in a data attribute.

/** The page's dictionary from `root.dataset[name]` (a JSON object); {} when absent or unreadable. */
export function pageWords(root, name) {
  try {
    return JSON.parse((root && root.dataset[name]) || '{}');
  } catch (err) {
    return {};
  }
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function fill(text, replacements) {
  return text.replace(/{([^}]+)}/g, (match, key) => (key in replacements ? String(replacements[key]) : match));
}

/**
 * translate(template, replacements) in the dictionary's language.
 *
 * A template the editor hands over is looked up as it is. Some texts arrive already filled in
 * (bpmnlint's "… link name <x> …", form-js's "Create a Text field element"): those match a
 * dictionary template with `{name}` placeholders, and the values they carry are translated too.
 * Anything the dictionary does not know stays as the editor wrote it.
 */
export function translator(words, { filledIn = true } = {}) {
  const patterns = !filledIn ? [] : Object.keys(words)
    .filter((template) => /{[^}]+}/.test(template))
    .map((template) => {
      const names = [];
      const source = template.split(/({[^}]+})/).map((part) => {
        const name = /^{([^}]+)}$/.exec(part);
        if (!name) return escapeRegExp(part);
        names.push(name[1]);
        return '(.+?)';
      }).join('');
      return { regexp: new RegExp(`^${source}$`), names, text: words[template] };
    });

  return function translate(template, replacements = {}) {
    if (typeof template !== 'string') return template;
    if (Object.prototype.hasOwnProperty.call(words, template)) return fill(words[template], replacements);
    for (const { regexp, names, text } of patterns) {
      const match = regexp.exec(template);
      if (!match) continue;
      const values = {};
      names.forEach((name, i) => {
        values[name] = Object.prototype.hasOwnProperty.call(words, match[i + 1]) ? words[match[i + 1]] : match[i + 1];
      });
      return fill(text, values);
    }
    return fill(template, replacements);
  };
}

/** A didi module replacing an editor's `translate` service (bpmn-js, dmn-js). */
export function translateModule(words) {
  return { translate: ['value', translator(words)] };
}

/**
 * The bpmn.io logo bpmn-js draws in `container`, with its hover text in the page's language. The
 * logo, its link to bpmn.io and its place stay exactly as the library draws them (its licence
 * requires that); only the title a pointer shows follows the page.
 */
export function titleProjectLogo(container, words) {
  const logo = container && container.querySelector('.bjs-powered-by');
  const title = logo && translator(words)(logo.getAttribute('title') || '');
  if (title) logo.setAttribute('title', title);
}

const ATTRIBUTES = ['title', 'placeholder', 'aria-label'];

/**
 * Keeps the texts under `root` in the dictionary's language as the widget renders them, for an
 * editor without a translate service (form-js's editor). Only whole texts equal to a template are
 * replaced (or, with `filledIn`, a template's filled-in form); text inside `skip` (the form being
 * edited: the plan's own words) is left alone.
 */
export function translateInPlace(root, words, skip, { filledIn = true } = {}) {
  if (!root || !Object.keys(words).length) return () => {};
  const translate = translator(words, { filledIn });
  // What a person types is never touched, whatever it says; nor is the plan's own text.
  const typed = ['[contenteditable]', 'textarea', skip].filter(Boolean).join(', ');
  const within = (node, selector) => {
    const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    return Boolean(selector && element && element.closest(selector));
  };
  const text = (node) => {
    const trimmed = node.nodeValue.trim();
    if (!trimmed || within(node, typed)) return;
    const translated = translate(trimmed);
    if (translated !== trimmed) node.nodeValue = node.nodeValue.replace(trimmed, translated);
  };
  const attributes = (element) => {
    if (within(element, skip)) return;
    for (const name of ATTRIBUTES) {
      const value = element.getAttribute(name);
      if (!value) continue;
      const translated = translate(value.trim());
      if (translated !== value.trim()) element.setAttribute(name, translated);
    }
  };
  const tree = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      text(node);
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    attributes(node);
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (let next = walker.nextNode(); next; next = walker.nextNode()) {
      if (next.nodeType === Node.TEXT_NODE) text(next);
      else attributes(next);
    }
  };
  tree(root);
  // A translated text is no longer a template, so the changes made here end the round.
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === 'characterData') text(record.target);
      else if (record.type === 'attributes') attributes(record.target);
      else record.addedNodes.forEach(tree);
    }
  });
  observer.observe(root, {
    subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRIBUTES,
  });
  return () => observer.disconnect();
}
