// The processes as layers (after VS Code's `code-layering`): each folder of
// src/ is code that runs in one kind of process, and may import only what that
// process can load.
//
//   src/shared    loaded by every process: imports only src/shared and npm
//                 packages; no Node built-ins, no Electron.
//   src/main      Electron's main process, the core and the CLI: src/main,
//                 src/shared, Node, npm packages.
//   src/preload   the sandboxed preload, which can require only 'electron':
//                 src/preload, src/shared and 'electron'.
//   src/renderer  the page: src/renderer, src/shared and npm UI packages; no
//                 Node built-ins, no Electron.
//
// 'electron' itself only in src/main/index.ts, src/main/electron/ and the
// preload: the core and the CLI also run under plain Node, where there is none.
// Nothing in src/ imports from outside src/ (tests, scripts), save the
// package.json the version is read from.
import { fromRoot, isNodeBuiltin, isRelative, packageName, relativeTarget, visitImports } from './paths.js';

const MAY_IMPORT = {
  shared: ['shared'],
  main: ['main', 'shared'],
  preload: ['preload', 'shared'],
  renderer: ['renderer', 'shared'],
};

const ELECTRON_ALLOWED = [/^src\/main\/index\.ts$/, /^src\/main\/electron\//, /^src\/preload\//];
// package.json (the version) and resources/ (files the app ships, e.g. policy templates).
const OUTSIDE_SRC_ALLOWED = [/^package\.json$/, /^resources\//];

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'Each process folder of src/ imports only what that process may load.' },
    schema: [],
    messages: {
      crossLayer: "src/{{from}} may not import from src/{{to}} ('{{specifier}}'): {{from}} imports only from {{allowed}}. Move what both need into src/shared.",
      outsideSrc: "'{{specifier}}' lies outside src/: application code does not import tests or scripts.",
      nodeInLayer: "'{{specifier}}' is a Node built-in; src/{{from}} {{why}}.",
      electron: "'electron' is imported only in src/main/index.ts, src/main/electron/ and src/preload/: the core and the CLI also run under plain Node. Take what you need as a parameter from there.",
      preloadPackage: "The sandboxed preload may require only 'electron'; '{{specifier}}' would have to be bundled in. Import from src/shared instead.",
    },
  },
  create(context) {
    const file = fromRoot(context.filename);
    const match = /^src\/(shared|main|preload|renderer)\//.exec(file);
    if (!match) return {};
    const from = match[1];
    const noNode = {
      shared: 'is loaded by every process, the page included: take what it needs from Node as a parameter',
      preload: "is sandboxed and can require only 'electron'",
      renderer: 'is the page, which has no Node',
    };
    return visitImports((node, specifier) => {
      if (isRelative(specifier)) {
        const target = relativeTarget(context.filename, specifier);
        const layer = /^src\/(shared|main|preload|renderer)(?:\/|$)/.exec(target);
        if (!layer) {
          if (!OUTSIDE_SRC_ALLOWED.some((pattern) => pattern.test(target))) context.report({ node, messageId: 'outsideSrc', data: { specifier } });
          return;
        }
        if (!MAY_IMPORT[from].includes(layer[1])) {
          context.report({ node, messageId: 'crossLayer', data: { from, to: layer[1], specifier, allowed: MAY_IMPORT[from].map((l) => `src/${l}`).join(' and ') } });
        }
        return;
      }
      if (packageName(specifier) === 'electron') {
        if (!ELECTRON_ALLOWED.some((pattern) => pattern.test(file))) context.report({ node, messageId: 'electron' });
        return;
      }
      if (isNodeBuiltin(specifier)) {
        if (from !== 'main') context.report({ node, messageId: 'nodeInLayer', data: { specifier, from, why: noNode[from] } });
        return;
      }
      if (from === 'preload') context.report({ node, messageId: 'preloadPackage', data: { specifier } });
    });
  },
};
