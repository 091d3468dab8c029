// A source file over the line limit says at its top why it is that long (after
// Signal-Desktop's .eslint/rules/file-suffix.js: a convention the reviewer
// would otherwise have to remember). The reason is a comment before the first
// statement containing "Over 500 lines because", e.g.
//
//   // Over 500 lines because the plist, registry and JSON readers share one
//   // table of problems, and splitting it would scatter the messages.
//
// Better still, split the file.

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'suggestion',
    docs: { description: 'A source file over `max` lines states why at its top.' },
    schema: [{ type: 'object', properties: { max: { type: 'integer', minimum: 1 } }, additionalProperties: false }],
    messages: {
      noReason: 'This file has {{lines}} lines (over {{max}}): split it, or say why at its top in a comment containing "Over {{max}} lines because".',
    },
  },
  create(context) {
    const max = context.options[0]?.max ?? 500;
    return {
      Program(program) {
        const { sourceCode } = context;
        const lines = sourceCode.lines.length - (sourceCode.lines.at(-1) === '' ? 1 : 0);
        if (lines <= max) return;
        const first = program.body[0];
        const leading = first ? sourceCode.getCommentsBefore(first) : sourceCode.getAllComments();
        const phrase = `Over ${max} lines because`;
        if (leading.some((comment) => comment.value.replace(/\s+/g, ' ').includes(phrase))) return;
        context.report({ loc: { line: 1, column: 0 }, messageId: 'noReason', data: { lines: String(lines), max: String(max) } });
      },
    };
  },
};
