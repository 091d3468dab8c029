// A folder under src/main/ is a service with one front door, its index.ts
// (after VS Code's `code-import-patterns`): code outside the folder, the main
// entry (src/main/index.ts) included, imports the service only through it.
// Inside a service, files import each other freely.
//
// Option `alsoPublic`: modules, by path from the repository root, that other
// services may import directly. Each needs a reason in the config.
import { fromRoot, isRelative, relativeTarget, visitImports } from './paths.js';

function serviceOf(path) {
  // src/main/<service>/...; a file directly in src/main/ (the entry) is in no service.
  const match = /^src\/main\/([^/]+)\/./.exec(path);
  return match ? match[1] : null;
}

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'Other code imports a service under src/main/ only through its index.ts.' },
    schema: [{ type: 'object', properties: { alsoPublic: { type: 'array', items: { type: 'string' } } }, additionalProperties: false }],
    messages: {
      sideDoor: "'{{specifier}}' reaches inside the {{service}} service; import it from src/main/{{service}}/index.ts (its front door), or export what you need there.",
    },
  },
  create(context) {
    const file = fromRoot(context.filename);
    if (!file.startsWith('src/main/')) return {};
    const own = serviceOf(file);
    const alsoPublic = new Set((context.options[0]?.alsoPublic ?? []).map((path) => path.replace(/\.tsx?$/, '')));
    return visitImports((node, specifier) => {
      if (!isRelative(specifier)) return;
      const target = relativeTarget(context.filename, specifier);
      const service = serviceOf(target);
      if (service === null || service === own) return;
      if (target === `src/main/${service}/index` || alsoPublic.has(target)) return;
      context.report({ node, messageId: 'sideDoor', data: { specifier, service } });
    });
  },
};
