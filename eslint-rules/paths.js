// Where a file or an import lies in the tree, for the local rules. Paths are
// taken relative to the repository root (this folder's parent), whatever
// directory ESLint runs from.
import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The path from the repository root, with forward slashes. */
export function fromRoot(absolutePath) {
  return relative(ROOT, absolutePath).split(sep).join('/');
}

/** The module a relative import names, from the root, without its extension ('src/main/core/version'). */
export function relativeTarget(filename, specifier) {
  return fromRoot(resolve(dirname(filename), specifier)).replace(/\.(?:[cm]?[jt]sx?|json)$/, (ext) => (ext === '.json' ? ext : ''));
}

export function isRelative(specifier) {
  return specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../');
}

const BUILTINS = new Set(builtinModules);
export function isNodeBuiltin(specifier) {
  return specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]);
}

/** 'react-dom/client' -> 'react-dom'; '@xmldom/xmldom/lib' -> '@xmldom/xmldom'. */
export function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Calls `check(node, specifier)` for every module a file names: static and
 * dynamic imports, re-exports, `import('x').Type`, and require() of a literal.
 */
export function visitImports(check) {
  const literal = (node) => (node && node.type === 'Literal' && typeof node.value === 'string' ? node.value : null);
  const visit = (node, source) => {
    const specifier = literal(source);
    if (specifier !== null) check(source, specifier);
  };
  return {
    ImportDeclaration: (node) => visit(node, node.source),
    ExportNamedDeclaration: (node) => node.source && visit(node, node.source),
    ExportAllDeclaration: (node) => visit(node, node.source),
    ImportExpression: (node) => visit(node, node.source),
    // typescript-eslint 8 has `source`; `argument` (a TSLiteralType) before it.
    TSImportType: (node) => visit(node, node.source ?? (node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument)),
    TSImportEqualsDeclaration: (node) => node.moduleReference?.type === 'TSExternalModuleReference' && visit(node, node.moduleReference.expression),
    CallExpression: (node) => {
      if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1) visit(node, node.arguments[0]);
    },
  };
}
