// Bundles src/modeler.js into ../static/dist/modeler.bundle.js (IIFE, window.PlanFlowModeler) and
// src/asset-editors.js (the form and decision-table editors' page) into asset-editors.bundle.js,
// and copies the stylesheets and fonts the modeler needs next to them.
import { build } from 'esbuild';
import { cpSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { packConfig } = require('bpmnlint-pack-config');

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'static', 'dist');
const modules = join(here, 'node_modules');

// `import lintConfig from '../.bpmnlintrc'` becomes the rules it names, packed with their code.
const bpmnlintrc = {
  name: 'bpmnlintrc',
  setup(b) {
    b.onResolve({ filter: /\.bpmnlintrc$/ }, (args) => ({
      path: join(args.resolveDir, args.path),
      namespace: 'bpmnlintrc',
    }));
    b.onLoad({ filter: /.*/, namespace: 'bpmnlintrc' }, async (args) => {
      const { code } = await packConfig(args.path, 'es');
      return { contents: code, loader: 'js', resolveDir: here };
    });
  },
};

mkdirSync(dist, { recursive: true });

const options = {
  bundle: true,
  format: 'iife',
  target: ['es2020'],
  minify: true,
  sourcemap: false,
  legalComments: 'linked',
  logLevel: 'warning',
};

await build({
  ...options,
  entryPoints: [join(here, 'src', 'modeler.js')],
  outfile: join(dist, 'modeler.bundle.js'),
  globalName: 'PlanFlowModeler',
  plugins: [bpmnlintrc],
});

// The form and decision-table editors' page script (form-js and dmn-js come as their own distributions).
await build({
  ...options,
  entryPoints: [join(here, 'src', 'asset-editors.js')],
  outfile: join(dist, 'asset-editors.bundle.js'),
});

const assets = [
  ['bpmn-js/dist/assets/diagram-js.css', 'diagram-js.css'],
  ['bpmn-js/dist/assets/bpmn-js.css', 'bpmn-js.css'],
  ['bpmn-js/dist/assets/bpmn-font', 'bpmn-font'],
  ['@bpmn-io/properties-panel/dist/assets/properties-panel.css', 'properties-panel.css'],
  ['bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css', 'bpmn-js-bpmnlint.css'],
];
for (const [from, to] of assets) {
  cpSync(join(modules, from), join(dist, to), { recursive: true });
}
