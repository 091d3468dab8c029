// Types for the local rules, so the tests (TypeScript) can load them.
import type { Rule } from 'eslint';

declare const plugin: {
  meta: { name: string };
  rules: { layers: Rule.RuleModule; 'front-door': Rule.RuleModule; 'long-file-reason': Rule.RuleModule; 'no-literal-text': Rule.RuleModule };
};
export default plugin;
