// The policy in force inside the core, and how it changes: at start and on a
// watched change each result is audited as policy.apply with the effective
// policy's hash. A policy that does not validate is never half-applied: at
// start Enclave stays locked in a "policy error" state; later, the last valid
// policy stays in force and the failure is audited and shown.
import type { PolicyState } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import type { AuditLog } from '../audit/index.js';
import { describeNotices, type EffectivePolicy, type Policy, type PolicyNotice, type PolicyResolution } from '../policy/index.js';

/** Audit detail values are short strings; the full list is in `enclave policy show` and the app. */
const MAX_DETAIL_CHARS = 2000;

export type PolicyUpdate = 'applied' | 'rejected' | 'unchanged';

export interface PolicyRuntimeOptions {
  /** The policy read at start (applied and audited now). */
  initial: PolicyResolution;
  audit: AuditLog;
}

export class PolicyRuntime {
  #effective: EffectivePolicy | null = null;
  #problems: PolicyNotice[] = [];
  readonly #audit: AuditLog;

  constructor({ initial, audit }: PolicyRuntimeOptions) {
    this.#audit = audit;
    this.update(initial, 'start');
  }

  get effective(): EffectivePolicy | null {
    return this.#effective;
  }

  /** The policy in force, or the policy error every call but app.status answers with. */
  require(): Policy {
    if (this.#effective) return this.#effective.policy;
    throw new EnclaveError('policy_invalid', `Enclave is locked because its managed policy is not valid. Ask IT to correct it:\n${describeNotices(this.#problems)}`);
  }

  state(): PolicyState {
    return {
      state: !this.#effective ? 'error' : this.#problems.length > 0 ? 'previous' : 'applied',
      hash: this.#effective?.hash ?? null,
      problems: this.#problems,
    };
  }

  update(resolution: PolicyResolution, trigger: 'start' | 'change'): PolicyUpdate {
    if (!resolution.ok) {
      this.#problems = resolution.problems;
      this.#audit.record({
        action: 'policy.apply',
        outcome: 'failure',
        reason: 'invalid',
        detail: {
          trigger,
          problem_count: resolution.problems.length,
          problems: describeNotices(resolution.problems).slice(0, MAX_DETAIL_CHARS),
          sources: resolution.sources.join(', '),
          kept_policy_hash: this.#effective?.hash ?? null,
        },
      });
      return 'rejected';
    }
    const next = resolution.effective;
    const previous = this.#effective;
    const wasRejected = this.#problems.length > 0;
    this.#effective = next;
    this.#problems = [];
    if (trigger === 'change' && previous?.hash === next.hash && !wasRejected) return 'unchanged';
    this.#audit.record({
      action: 'policy.apply',
      outcome: 'success',
      detail: {
        trigger,
        policy_hash: next.hash,
        previous_policy_hash: previous?.hash ?? null,
        mode: next.policy.mode,
        sources: next.source,
        warning_count: next.warnings.length,
        warnings: describeNotices(next.warnings).slice(0, MAX_DETAIL_CHARS),
      },
    });
    return 'applied';
  }
}
