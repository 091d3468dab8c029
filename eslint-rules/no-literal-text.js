// Text a person reads comes from the string catalog (src/renderer/src/i18n),
// never from a literal in JSX: a literal is English in every locale and is
// what the pseudo-locale build (npm run build:pseudo) would show unmarked.
// Flags JSX text with a letter in it, a string literal rendered as a child
// ({'Save'}, {`Save`}), and string literals given to the attributes people
// read or hear (aria-label, placeholder, title, alt, label). No well-kept
// plugin was installed for this (eslint-plugin-i18next, eslint-plugin-react's
// jsx-no-literals); this is the small part of them Enclave needs.

const READ_ATTRIBUTES = new Set(['aria-label', 'aria-description', 'aria-placeholder', 'aria-valuetext', 'placeholder', 'title', 'alt', 'label']);
const LETTER = /\p{L}/u;

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'User-visible text in JSX comes from the string catalog, not a literal.' },
    schema: [],
    messages: {
      text: 'Text "{{text}}" is hard-coded: put it in the catalog (src/renderer/src/i18n/en) and use t().',
      attribute: '{{name}}="{{text}}" is hard-coded: put it in the catalog (src/renderer/src/i18n/en) and use t().',
    },
  },
  create(context) {
    const short = (text) => (text.length > 40 ? `${text.slice(0, 37)}…` : text).trim();
    const literalText = (node) => {
      if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
      if (node.type === 'TemplateLiteral') return node.quasis.map((q) => q.value.cooked ?? '').join('');
      return null;
    };
    return {
      JSXText(node) {
        if (LETTER.test(node.value)) context.report({ node, messageId: 'text', data: { text: short(node.value) } });
      },
      JSXExpressionContainer(node) {
        if (node.parent?.type !== 'JSXElement' && node.parent?.type !== 'JSXFragment') return;
        const text = literalText(node.expression);
        if (text !== null && LETTER.test(text)) context.report({ node, messageId: 'text', data: { text: short(text) } });
      },
      JSXAttribute(node) {
        const name = node.name.type === 'JSXIdentifier' ? node.name.name : null;
        if (!name || !READ_ATTRIBUTES.has(name) || !node.value) return;
        const text = node.value.type === 'Literal' ? literalText(node.value) : node.value.type === 'JSXExpressionContainer' ? literalText(node.value.expression) : null;
        if (text !== null && LETTER.test(text)) context.report({ node, messageId: 'attribute', data: { name, text: short(text) } });
      },
    };
  },
};
