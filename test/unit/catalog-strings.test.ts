// Text the renderer builds outside JSX, where the no-literal-text rule cannot
// see it, comes from the string catalog too: every audit action the core can
// record has words there (or a translated compliance screen would show raw
// codes), in the same English as the shared labels the CLI and the SIEM use;
// the engine's English CPU name is said from the catalog.
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTION_GROUPS, AUDIT_ACTION_LABELS, AUDIT_ACTIONS } from '../../src/shared/audit-actions.js';
import { en } from '../../src/renderer/src/i18n/en/index.js';
import { auditActionGroupText, auditActionText } from '../../src/renderer/src/components/audit-search/action-text.js';

/** The catalog's string at a dotted key, or undefined. */
function lookup(path: string): unknown {
  return path.split('.').reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), en.audit);
}

describe('audit action words in the catalog', () => {
  it.each(AUDIT_ACTIONS)('%s has a catalog entry with the shared English', (action) => {
    expect(lookup(`action.${action}`)).toBe(AUDIT_ACTION_LABELS[action]);
    expect(auditActionText(action)).toBe(AUDIT_ACTION_LABELS[action]);
  });

  it('has no entry for an action the core does not record', () => {
    const keys = Object.entries(en.audit.action).flatMap(([group, names]) => Object.keys(names).map((name) => `${group}.${name}`));
    expect([...keys].sort()).toEqual([...AUDIT_ACTIONS].sort());
  });

  it('names every filter group with the shared English', () => {
    for (const group of AUDIT_ACTION_GROUPS) expect(auditActionGroupText(group)).toBe(group.label);
  });

  it('shows an action this build does not know as its code', () => {
    expect(auditActionText('future.thing')).toBe('future.thing');
  });
});

describe('the inference device in words', () => {
  it('says the engine’s CPU thread count from the catalog, in the same English', async () => {
    const { deviceText } = await import('../../src/renderer/src/components/inference-format.js');
    const cpu = (name: string) => deviceText({ device: { kind: 'cpu', name } } as Parameters<typeof deviceText>[0]);
    expect(cpu('CPU (1 thread)')).toBe('CPU (1 thread)');
    expect(cpu('CPU (8 threads)')).toBe('CPU (8 threads)');
    expect(cpu('Intel Xeon')).toBe('CPU · Intel Xeon');
  });
});
