// The plan modeler: bpmn-js with the Camunda 7 properties panel, bpmnlint and the server's checks.
// Bundled by build.mjs as window.PlanFlowModeler = {mount, view}.

import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import lintModule from 'bpmn-js-bpmnlint';
import lintConfig from '../.bpmnlintrc';

import { errorMessage, getJSON, postJSON } from './api.js';
import { findShape, fitDiagram, itemId, markOnly } from './canvas.js';
import { messages } from './messages.js';
import { ProblemsPanel } from './problems.js';
import { pageWords, titleProjectLogo, translateInPlace, translateModule } from './words.js';

export { view } from './viewer.js';

const CHECK_DELAY_MS = 800;

/** Mounts the modeler on the page around `root`; resolves to the bpmn-js modeler once loaded. */
export async function mount(root) {
  const t = messages(root);
  const urls = {
    xml: root.dataset.xmlUrl,
    save: root.dataset.saveUrl,
    deploy: root.dataset.deployUrl,
    check: root.dataset.checkUrl,
  };
  const statusLine = document.querySelector('#pf-status');
  const saveButton = document.querySelector('#pf-save-draft');
  const deployButton = document.querySelector('#pf-deploy');

  const words = pageWords(root, 'diagramWords');
  const modeler = new BpmnModeler({
    container: '#pf-canvas',
    // Open the groups a process owner edits most; the panel remembers what they open next.
    propertiesPanel: {
      parent: '#pf-properties',
      layout: { groups: { general: { open: true }, 'CamundaPlatform__Form': { open: true } } },
    },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      CamundaBehaviorsModule,
      lintModule,
      // bpmn-js, its properties panel and bpmnlint's markers in the page's language.
      translateModule(words),
    ],
    moddleExtensions: { camunda: camundaModdle },
    linting: { bpmnlint: lintConfig, active: true },
  });
  titleProjectLogo(document.querySelector('#pf-canvas'), words);

  // The properties panel's own parts (list buttons, section markers) do not ask the translate
  // service; their words are put in place as they appear. The header names the element: plan text.
  // Whole words only: the panel's lists show the plan's own values ("a: b"), never a filled-in template.
  translateInPlace(document.querySelector('#pf-properties'), words, '.bio-properties-panel-header-label',
    { filledIn: false });

  let baseRevision = null;
  let dirty = false;
  let busy = false;
  let checkTimer = null;
  let checkSeq = 0;

  const status = (text, state = 'info') => {
    if (!statusLine) return;
    statusLine.textContent = text;
    statusLine.dataset.state = state;
  };

  const select = (shape) => {
    modeler.get('selection').select(shape);
    modeler.get('canvas').scrollToElement(shape);
  };

  const panel = new ProblemsPanel(document.querySelector('#pf-problems'), t, {
    findShape: (id) => findShape(modeler, id),
    select,
    reload: () => load(),
    // Keep my draft: save it on top of theirs (theirs stays in the revision history).
    keepMine: async () => {
      if (conflictRevision === null) return;
      baseRevision = conflictRevision;
      const body = await submit(urls.save, 'saving');
      if (!body) return;
      baseRevision = body.revision;
      conflictRevision = null;
      dirty = false;
      panel.setConflict(null);
      markOnly(modeler, 'pf-changed', []);
      status(t('saved', { revision: body.revision }), 'ok');
    },
    theirsUrl: root.dataset.latestUrl,
  });
  let conflictRevision = null;

  const markProblems = () => markOnly(modeler, 'pf-problem',
    [...panel.get('deploy'), ...panel.get('server')].map((p) => p.elementId));

  const serverProblems = (list) => (list || []).map((p) => ({
    elementId: p.element_id || null, file: p.file || null, message: p.message, severity: 'error',
  }));

  const showConflict = (error) => {
    const changes = error.changes || {};
    conflictRevision = typeof error.revision === 'number' ? error.revision : null;
    panel.setConflict({ message: error.message, changes });
    markOnly(modeler, 'pf-changed',
      ['added', 'removed', 'changed'].flatMap((kind) => (changes[kind] || []).map(itemId)));
    status(error.message, 'error');
  };

  async function load() {
    status(t('loading'));
    const plan = await getJSON(urls.xml);
    if (!plan.ok || !plan.body) {
      status(t('load_failed', { message: errorMessage(plan, t('request_failed', { status: plan.status })) }), 'error');
      return;
    }
    await modeler.importXML(plan.body.xml);
    fitDiagram(modeler);
    baseRevision = plan.body.revision;
    dirty = false;
    panel.setConflict(null);
    panel.set('deploy', []);
    status(plan.body.source === 'version' ? t('editing_version')
      : t('editing_draft', { revision: baseRevision }));
    scheduleCheck(0);
  }

  function scheduleCheck(delay = CHECK_DELAY_MS) {
    if (!urls.check) return;
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, delay);
  }

  async function check() {
    const seq = ++checkSeq;
    try {
      const { xml } = await modeler.saveXML({ format: true });
      const result = await postJSON(urls.check, { xml });
      if (seq !== checkSeq || !result.ok || !result.body) return;
      panel.set('server', serverProblems(result.body.problems));
      markProblems();
    } catch (err) {
      // A failed live check changes nothing: the next edit or a deploy checks again.
    }
  }

  // Sends the diagram to save or deploy; returns the parsed response, or null when it failed.
  async function submit(url, pending, extra = {}) {
    if (busy) return null;
    busy = true;
    for (const button of [saveButton, deployButton]) if (button) button.disabled = true;
    status(t(pending));
    try {
      const { xml } = await modeler.saveXML({ format: true });
      const result = await postJSON(url, { xml, base_revision: baseRevision, ...extra });
      const error = result.body && result.body.error;
      if (result.status === 409 && error) {
        showConflict(error);
        return null;
      }
      if (result.status === 422 && error && error.problems) {
        panel.set('deploy', serverProblems(error.problems));
        markProblems();
        status(error.message || t('deploy_rejected', { count: error.problems.length }), 'error');
        return null;
      }
      if (!result.ok) {
        status(errorMessage(result, t('request_failed', { status: result.status })), 'error');
        return null;
      }
      return result.body || {};
    } catch (err) {
      status(t('network_failed'), 'error');
      return null;
    } finally {
      busy = false;
      for (const button of [saveButton, deployButton]) if (button) button.disabled = false;
    }
  }

  if (saveButton) {
    saveButton.addEventListener('click', async () => {
      const body = await submit(urls.save, 'saving');
      if (!body) return;
      baseRevision = body.revision;
      dirty = false;
      panel.setConflict(null);
      markOnly(modeler, 'pf-changed', []);
      status(t('saved', { revision: body.revision }), 'ok');
    });
  }

  if (deployButton) {
    deployButton.addEventListener('click', async () => {
      // A deploy says why: the note is shown in the version list and kept in the audit trail.
      const noteInput = document.querySelector('#pf-change-note');
      const note = noteInput ? noteInput.value.trim() : '';
      if (noteInput && !note) {
        status(t('note_needed'), 'error');
        noteInput.focus();
        return;
      }
      const body = await submit(urls.deploy, 'deploying', { note });
      if (!body) return;
      dirty = false;
      panel.set('deploy', []);
      markProblems();
      status(t('deployed', { version: body.version }), 'ok');
      if (body.redirect) window.location.assign(body.redirect);
    });
  }

  const eventBus = modeler.get('eventBus');
  eventBus.on('commandStack.changed', () => {
    dirty = true;
    // A refused deploy described the diagram as it was; the live check now speaks for it.
    if (panel.get('deploy').length) panel.set('deploy', []);
    status(t('unsaved'));
    scheduleCheck();
  });
  const translate = modeler.get('translate');
  eventBus.on('linting.completed', (event) => {
    const linting = modeler.get('linting');
    const issues = linting.isActive() ? Object.values(event.issues).flat() : [];
    panel.set('lint', issues.map((issue) => ({
      elementId: issue.id,
      // The rule's message in the page's language, as its marker on the diagram shows it.
      message: `${translate(issue.message)} (${issue.rule})`,
      severity: issue.category === 'warn' ? 'warning' : issue.category,
    })));
  });
  eventBus.on('linting.toggle', (event) => {
    if (!event.active) panel.set('lint', []);
  });

  window.addEventListener('beforeunload', (event) => {
    if (dirty) event.preventDefault();
  });

  panel.render();
  await load();
  return modeler;
}
