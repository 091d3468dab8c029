// The effective policy, read exactly as the workstation reads it.
import { describeNotices, readPolicy, type EffectivePolicy } from '../../policy/index.js';
import { fail, ok, warn, type CheckResult } from './check.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function checkPolicy(overridePath: string | undefined): Promise<{ result: CheckResult; effective: EffectivePolicy | null }> {
  const resolution = await readPolicy({ overridePath });
  if (!resolution.ok) {
    const lines = [
      `not valid; a workstation would apply none of it and start locked (${plural(resolution.problems.length, 'problem')}, ${plural(resolution.warnings.length, 'warning')}):`,
      describeNotices(resolution.problems),
    ];
    if (resolution.warnings.length > 0) lines.push('warnings:', describeNotices(resolution.warnings));
    return { result: fail('policy', lines.join('\n')), effective: null };
  }
  const effective = resolution.effective;
  const { mode } = effective.policy;
  const summary = `${mode} mode, from ${effective.source}; hash ${effective.hash}; ${plural(effective.warnings.length, 'warning')}`;
  const notes: string[] = [];
  if (mode === 'evaluation') notes.push('evaluation mode is not for patient data (no managed policy applies)');
  if (effective.warnings.length > 0) notes.push(`warnings:\n${describeNotices(effective.warnings)}`);
  return { result: notes.length > 0 ? warn('policy', `${summary}; ${notes.join('; ')}`) : ok('policy', summary), effective };
}
