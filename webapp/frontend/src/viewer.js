// Read-only view of a plan version, with the differences to another version marked.

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

import { getJSON } from './api.js';
import { fitDiagram, itemId, markOnly } from './canvas.js';
import { messages } from './messages.js';
import { pageWords, titleProjectLogo } from './words.js';

/** Shows the plan of `root.dataset.xmlUrl` in `#pf-canvas` (or root); resolves to the viewer. */
export async function view(root) {
  const t = messages(root);
  const container = root.querySelector('#pf-canvas') || root;
  const viewer = new NavigatedViewer({ container, moddleExtensions: { camunda: camundaModdle } });
  titleProjectLogo(container, pageWords(root, 'viewerWords'));
  const status = document.querySelector('#pf-status');
  const plan = await getJSON(root.dataset.xmlUrl);
  if (!plan.ok || !plan.body) {
    if (status) status.textContent = t('load_failed', { message: plan.status });
    return viewer;
  }
  await viewer.importXML(plan.body.xml);
  fitDiagram(viewer);
  if (root.dataset.diffUrl) {
    const diff = await getJSON(root.dataset.diffUrl);
    if (diff.ok && diff.body) showDiff(viewer, diff.body);
  }
  if (root.dataset.markersUrl) {
    const marks = await getJSON(root.dataset.markersUrl);
    if (marks.ok && marks.body) showMarkers(viewer, marks.body);
  }
  root.dataset.ready = 'true';
  return viewer;
}

/**
 * Marks elements by class ({"markers": {"pf-done": [ids], …}}) and pins short texts on them
 * ({"badges": {id: "text"}}): the path a case took, or how many cases passed an element.
 */
function showMarkers(viewer, body) {
  const registry = viewer.get('elementRegistry');
  for (const [marker, ids] of Object.entries(body.markers || {})) {
    markOnly(viewer, marker, ids.filter((id) => registry.get(id)));
  }
  const overlays = viewer.get('overlays');
  for (const [id, text] of Object.entries(body.badges || {})) {
    if (!registry.get(id)) continue;
    const badge = document.createElement('div');
    badge.className = 'pf-badge';
    badge.dataset.elementId = id;
    badge.textContent = text;
    overlays.add(id, { position: { top: -14, right: 14 }, html: badge });
  }
}

function showDiff(viewer, diff) {
  markOnly(viewer, 'pf-added', (diff.added || []).map(itemId));
  markOnly(viewer, 'pf-changed', (diff.changed || []).map(itemId));
  const removed = document.querySelector('#pf-diff-removed');
  if (removed) {
    removed.replaceChildren(...(diff.removed || []).map((item) => {
      const li = document.createElement('li');
      const code = document.createElement('code');
      code.textContent = itemId(item);
      li.append(code);
      if (item && item.name) li.append(' ' + item.name);
      return li;
    }));
  }
}
