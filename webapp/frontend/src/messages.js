// Interface text; the page may translate it with a `data-messages` JSON object on the root.

const DEFAULTS = {
  loading: 'Loading…',
  load_failed: 'Could not load the plan: {message}',
  editing_draft: 'Editing the draft (revision {revision}).',
  editing_version: 'Editing a copy of the deployed version; saving starts a draft.',
  unsaved: 'Unsaved changes.',
  saving: 'Saving the draft…',
  saved: 'Draft saved (revision {revision}).',
  deploying: 'Deploying…',
  deployed: 'Deployed as version {version}.',
  deploy_rejected: 'Deploy refused: {count} problem(s).',
  request_failed: 'Request failed (HTTP {status}).',
  network_failed: 'The server could not be reached.',
  problems: 'Problems',
  no_problems: 'No problems found.',
  conflict: 'Changed by someone else since you opened it',
  reload: 'Load the latest draft (discards your changes)',
  added: 'added',
  removed: 'removed',
  changed: 'changed',
  source_deploy: 'deploy',
  source_server: 'server',
  source_lint: 'bpmnlint',
};

/** A translate function: t(key, {name: value}) fills `{name}` placeholders. */
export function messages(root) {
  let custom = {};
  try {
    custom = JSON.parse(root.dataset.messages || '{}');
  } catch (err) {
    custom = {};
  }
  const table = { ...DEFAULTS, ...custom };
  return (key, values = {}) =>
    (table[key] || key).replace(/\{(\w+)\}/g, (match, name) =>
      name in values ? String(values[name]) : match);
}
