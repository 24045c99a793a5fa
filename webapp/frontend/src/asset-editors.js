// The form editor (form-js) and the decision-table editor (dmn-js): load, edit, deploy.
// Bundled by build.mjs into asset-editors.bundle.js; the editors themselves are form-js's and
// dmn-js's own distributions (window.FormEditor, window.DmnJS), loaded by the page before it.

import { pageWords, translateInPlace, translateModule } from './words.js';

// The form as designed (its labels, hints, options) is the plan's own text, not the editor's.
const FORM_CONTENT = 'label.fjs-form-field-label, .fjs-form-field-description, .fjs-form-field-text, '
  + '.fjs-form-field-html, .fjs-radio, .fjs-checkbox, .fjs-taglist';
// A decision table's cells, names and expressions are the plan's own text.
const TABLE_CONTENT = 'tbody, .input-label, .output-label, .input-expression, .output-name, .decision-table-name';

const status = document.getElementById('pf-status');
const csrf = (document.querySelector('meta[name=csrf-token]') || {}).content;

function showProblems(body) {
  const list = document.getElementById('pf-problems');
  list.replaceChildren();
  const error = (body && body.error) || {};
  for (const problem of error.problems || []) {
    const item = document.createElement('li');
    item.textContent = (problem.element_id ? `${problem.element_id}: ` : '') + problem.message;
    list.appendChild(item);
  }
  status.textContent = error.message || '';
}

async function deploy(url, payload) {
  status.textContent = '…';
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
    body: JSON.stringify(payload),
  });
  const body = await response.json();
  if (response.ok) window.location.href = body.redirect;
  else showProblems(body);
}

async function formEditor(root) {
  // form-js's editor has no translate service: its words are put in the page's language as they appear.
  translateInPlace(root, pageWords(root, 'editorWords'), FORM_CONTENT);
  const schema = await (await fetch(root.dataset.schemaUrl, { credentials: 'same-origin' })).json();
  const editor = await window.FormEditor.createFormEditor({ container: root, schema });
  document.getElementById('pf-deploy-form').addEventListener('click', () => {
    deploy(root.dataset.deployUrl, { schema: editor.saveSchema() });
  });
}

async function decisionEditor(root) {
  const words = pageWords(root, 'editorWords');
  // dmn-js hands each view only its own additionalModules (not `common`'s): every view gets the translator.
  const translated = { additionalModules: [translateModule(words)] };
  const modeler = new window.DmnJS({
    container: root,
    common: { keyboard: { bindTo: window } },
    drd: translated,
    decisionTable: translated,
    literalExpression: translated,
    boxedExpression: translated,
  });
  // The few words dmn-js writes without its translate service (the data types in the header).
  translateInPlace(root, words, TABLE_CONTENT);
  const xml = await (await fetch(root.dataset.xmlUrl, { credentials: 'same-origin' })).text();
  await modeler.importXML(xml);
  const table = modeler.getViews().find((view) => view.type === 'decisionTable');
  if (table) await modeler.open(table);
  document.getElementById('pf-deploy-decision').addEventListener('click', async () => {
    const result = await modeler.saveXML({ format: true });
    deploy(root.dataset.deployUrl, { xml: result.xml });
  });
}

const formRoot = document.getElementById('pf-form-editor');
if (formRoot && window.FormEditor) formEditor(formRoot);

const dmnRoot = document.getElementById('pf-dmn-editor');
if (dmnRoot && window.DmnJS) decisionEditor(dmnRoot);
