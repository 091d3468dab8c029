// The effective policy as `enclave policy show` and the About screen present
// it: every setting with its value and source, secrets masked.
import type { PolicyReport } from '../../shared/api.js';
import type { EffectivePolicy } from './resolve.js';

const MASK = '(set; hidden)';

/** Values that authenticate to something (a Splunk HEC token) are shown as set, never printed. */
function mask(key: string, value: unknown): unknown {
  if (key !== 'siem.destinations' || !Array.isArray(value)) return value;
  return value.map((entry: unknown) => (entry && typeof entry === 'object' && 'token' in entry ? { ...entry, token: MASK } : entry));
}

type Json = PolicyReport['settings'][number]['value'];

export function policyReport(effective: EffectivePolicy): PolicyReport {
  return {
    hash: effective.hash,
    sources: effective.sources,
    settings: effective.settings.map((s) => ({
      key: s.key,
      value: mask(s.key, s.value) as Json,
      source: s.source,
      overridden: s.overridden.map((o) => ({ source: o.source, value: mask(s.key, o.value) as Json })),
    })),
    warnings: effective.warnings,
  };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Plain text for the terminal: one line per setting, then who it overrode and any warnings. */
export function formatPolicyReport(report: PolicyReport): string {
  const lines = [`Effective policy ${report.hash}`, `Sources, highest precedence first: ${report.sources.join(', ') || 'none (defaults)'}`, ''];
  const width = Math.max(...report.settings.map((s) => s.key.length));
  for (const setting of report.settings) {
    lines.push(`${setting.key.padEnd(width)}  ${text(setting.value)}    [${setting.source}]`);
    for (const other of setting.overridden) lines.push(`${''.padEnd(width)}    overrides ${text(other.value)} from ${other.source}`);
  }
  if (report.warnings.length > 0) {
    lines.push('', 'Warnings:');
    for (const w of report.warnings) lines.push(`  ${w.key ? `${w.key} ` : ''}(${w.source}): ${w.message}`);
  }
  return lines.join('\n');
}
