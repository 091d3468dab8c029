// The core's single entrance for calls: the input is checked against the
// contract's schema and the caller's session against the call's access rule
// before any service runs.
import type { z } from 'zod';
import { calls, isCallName, type Access, type CallName, type CallOutput, type User } from '../../shared/api.js';
import { capText, echoInput, EnclaveError, ERROR_MESSAGE_MAX_CHARS } from '../../shared/errors.js';
import { holdsAnyRole } from '../../shared/roles.js';
import type { CallRequest, CallResponse } from '../../shared/rpc.js';
import type { SessionState } from '../../shared/api.js';

type DeniedCode = 'locked' | 'forbidden' | 'attestation_required';

/**
 * Role-gated calls allowed while policy's acceptable-use statement is due:
 * locking is a safeguard (main sends it when the OS screen locks), never
 * held back.
 */
const ALLOWED_BEFORE_ATTESTATION: ReadonlySet<CallName> = new Set<CallName>(['auth.lock']);

type ParsedInput<K extends CallName> = z.output<(typeof calls)[K]['input']>;

export interface CallContext {
  /** The active user; for 'public' and 'signed-in-or-locked' calls it may be null. */
  user: User | null;
}

export type Handlers = { [K in CallName]: (input: ParsedInput<K>, context: CallContext) => Promise<CallOutput<K>> | CallOutput<K> };

export interface DispatcherOptions {
  handlers: Handlers;
  session: () => SessionState;
  /** A refused call from a signed-in user is worth an audit record. */
  onDenied: (method: CallName, user: User, code: DeniedCode) => void;
  onInternalError: (method: string, error: unknown) => void;
}

export function createDispatcher(options: DispatcherOptions): (request: CallRequest) => Promise<CallResponse> {
  return async (request) => {
    const id = request.id;
    try {
      const method = request.method;
      if (!isCallName(method)) throw new EnclaveError('unknown_call', `There is no call named "${echoInput(String(method))}".`);
      const spec = calls[method];
      const parsed = spec.input.safeParse(request.input ?? {});
      if (!parsed.success) throw new EnclaveError('invalid_input', describeIssues(method, parsed.error.issues));
      const user = authorize(method, spec.access, options);
      const handler = options.handlers[method] as (input: unknown, context: CallContext) => Promise<unknown> | unknown;
      const output = await handler(parsed.data, { user });
      // Outputs are checked too: nothing leaves the core that the contract does not describe.
      return { id, ok: true, output: spec.output.parse(output) };
    } catch (error) {
      if (error instanceof EnclaveError) return { id, ok: false, error: error.toInfo() };
      options.onInternalError(String(request.method), error);
      return { id, ok: false, error: { code: 'internal', message: 'Enclave hit an internal error; it has been logged. Nothing was changed.' } };
    }
  };
}

function authorize(method: CallName, access: Access, options: DispatcherOptions): User | null {
  const session = options.session();
  if (access === 'public') return session.state === 'active' ? session.user : null;
  if (access === 'signed-in-or-locked') {
    if (session.state === 'signed-out') throw new EnclaveError('not_signed_in', 'Sign in first.');
    return session.state === 'active' ? session.user : null;
  }
  if (session.state === 'signed-out') throw new EnclaveError('not_signed_in', 'Sign in first.');
  if (session.state === 'locked') {
    options.onDenied(method, session.user, 'locked');
    throw new EnclaveError('locked', 'Enclave is locked. Unlock it to continue.');
  }
  if (!holdsAnyRole(session.user.roles, access)) {
    options.onDenied(method, session.user, 'forbidden');
    throw new EnclaveError('forbidden', `Your roles (${session.user.roles.join(', ')}) do not allow this; it needs ${access.join(' or ')}.`);
  }
  if (session.attestation && !ALLOWED_BEFORE_ATTESTATION.has(method)) {
    options.onDenied(method, session.user, 'attestation_required');
    throw new EnclaveError('attestation_required', 'Accept the acceptable-use statement first; declining signs you out.');
  }
  return session.user;
}

/**
 * The schema's complaints, for the person (or program) that sent the call.
 * Anything taken from the input (an unknown key, a key in the path) is quoted
 * at most ECHOED_INPUT_MAX_CHARS long, and at most a few of each: a 1 MB key
 * is not sent back. Schema messages themselves never quote the input.
 */
function describeIssues(method: string, issues: readonly z.core.$ZodIssue[]): string {
  const describe = (issue: z.core.$ZodIssue): string => {
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length === 1 ? '' : 's'} ${listOf(issue.keys.map((key) => `"${echoInput(key)}"`))}`
        : capText(issue.message, 200).replace(/\.$/, '');
    return issue.path.length ? `${issue.path.map((part) => echoInput(String(part))).join('.')}: ${message}` : message;
  };
  const parts = issues.slice(0, 3).map(describe);
  if (issues.length > 3) parts.push(`and ${issues.length - 3} more`);
  return capText(`The request "${method}" was malformed — ${parts.join('; ')}.`, ERROR_MESSAGE_MAX_CHARS);
}

function listOf(items: string[], max = 3): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
