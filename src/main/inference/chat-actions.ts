// What a person does with their own sessions besides chatting: rename one,
// copy text out of it (the way text leaves for the patient record: each copy
// audited with what and how long, never the text, and refused where policy
// turns copying off), and report a problem with an answer (audited, sealed
// and sent to the SIEM at once). And whether each workload can be used now,
// in words a clinician can act on. The chat service's front door calls these.
import type { ChatSessionSummary, ReportCategory, User, WorkloadAvailability } from '../../shared/api.js';
import { EnclaveError } from '../../shared/errors.js';
import { auditUser, type AuditEventInput, type AuditLog } from '../audit/index.js';
import type { WorkloadEntry } from '../policy/index.js';
import { chatSessions, type Store } from '../store/index.js';
import type { ChatKeys } from './chat-ports.js';
import type { ModelRegistry } from './models.js';

type SessionRow = chatSessions.SessionRow;

export interface ChatActionsOptions {
  store: Store;
  audit: AuditLog;
  keys: ChatKeys;
  models: ModelRegistry;
  /** The chat service's own lookups: the user's session (else not_found), and one whose key this sign-in holds (else chat_locked). */
  ownSession(user: User, sessionId: string): SessionRow;
  openableSession(user: User, sessionId: string): SessionRow;
  summary(user: User, row: SessionRow): ChatSessionSummary;
}

export type CopyPart = 'answer' | 'code-block' | 'prompt';

export class ChatActions {
  readonly #o: ChatActionsOptions;

  constructor(options: ChatActionsOptions) {
    this.#o = options;
  }

  /** A new name for one of the user's sessions, sealed with the session's key like a title made from the first prompt. Audited without the title. */
  rename(user: User, input: { sessionId: string; title: string }): ChatSessionSummary {
    const title = input.title.replace(/\s+/g, ' ').trim();
    const session = this.#refusedAudited({ action: 'session.rename', user, sessionId: input.sessionId }, () => this.#o.openableSession(user, input.sessionId));
    // A session from before per-person keys stays plain until its owner's sign-in seals it (it is sealed whole, title and messages).
    const stored = session.key_id === null ? title : this.#o.keys.sealTitle(user.id, session.key_id, session.id, title);
    this.#o.audit.run(
      (db) => chatSessions.setSessionTitle(db, session.id, stored),
      () => ({ action: 'session.rename', outcome: 'success', user: auditUser(user), sessionId: session.id, workload: session.workload_id, detail: { chars: title.length } }),
    );
    return this.#o.summary(user, { ...session, title: stored });
  }

  /**
   * Asked before the renderer writes the clipboard: the message must be the
   * user's, `chars` no more than its length, the part fit its author, and
   * policy must allow copying for the session's workload. Each copy and each
   * refusal is audited (part, characters, message id; never the text).
   */
  copy(user: User, input: { sessionId: string; messageId: string; part: CopyPart; chars: number }): { ok: true } {
    const base = { action: 'ai.copy' as const, user, sessionId: input.sessionId, messageId: input.messageId, detail: { part: input.part, chars: input.chars } };
    const { session, length } = this.#refusedAudited(base, () => {
      const session = this.#o.openableSession(user, input.sessionId);
      const message = this.#message(session, input.messageId);
      const wanted = input.part === 'prompt' ? 'user' : 'assistant';
      if (message.role !== wanted) {
        throw new EnclaveError('invalid_input', input.part === 'prompt' ? 'That message is an answer, not a prompt.' : 'That message is a prompt, not an answer.');
      }
      const text = this.#o.keys.openMessage(user.id, session.key_id, { id: message.id, sessionId: session.id, role: message.role }, message.content);
      return { session, length: text.length };
    });
    const withWorkload = { ...base, workload: session.workload_id };
    if (input.chars > length) {
      this.#record(withWorkload, 'failure', 'invalid_input');
      throw new EnclaveError('invalid_input', `Only ${length.toLocaleString('en-US')} characters of that message can be copied, not ${input.chars.toLocaleString('en-US')}.`);
    }
    const workload = this.#o.models.workload(session.workload_id);
    if (!workload?.allowCopy) {
      this.#record(withWorkload, 'failure', 'copy_disabled');
      throw new EnclaveError(
        'copy_disabled',
        workload
          ? `Copying is turned off by policy for the workload "${workload.name}". Nothing was copied.`
          : 'Copying is turned off: the workload of this session is no longer in the policy. Nothing was copied.',
      );
    }
    this.#record(withWorkload, 'success');
    return { ok: true };
  }

  /**
   * A problem with an answer (wrong, unsafe, another patient's data): audited
   * as ai.report with the category, the message id and the model that wrote
   * it; ai.report is an urgent action, so its batch is sealed and sent to
   * the SIEM at once. Never the text.
   */
  report(user: User, input: { sessionId: string; messageId: string; category: ReportCategory }): { ok: true } {
    const base = { action: 'ai.report' as const, user, sessionId: input.sessionId, messageId: input.messageId, detail: { category: input.category } };
    // Needs no key: the report names the message, it does not open it.
    const { session, message } = this.#refusedAudited(base, () => {
      const session = this.#o.ownSession(user, input.sessionId);
      const message = this.#message(session, input.messageId);
      if (message.role !== 'assistant') throw new EnclaveError('invalid_input', 'Only an answer can be reported; that message is a prompt.');
      return { session, message };
    });
    const model = message.model_id === null ? undefined : this.#o.models.list().find((m) => m.id === message.model_id);
    this.#o.audit.record({
      ...base,
      outcome: 'success',
      user: auditUser(user),
      workload: session.workload_id,
      ...(message.model_id === null ? {} : { model: { id: message.model_id, ...(model ? { sha256: model.sha256 } : {}) } }),
    });
    return { ok: true };
  }

  #message(session: SessionRow, messageId: string): chatSessions.MessageRow & { model_id: string | null } {
    const message = chatSessions.messageOfSession(this.#o.store.reader, session.id, messageId);
    if (!message) throw new EnclaveError('not_found', 'That message is not in this session (it may have been replaced or deleted).');
    return message;
  }

  /** Runs the checks; a refusal is audited as a failure with its code, then thrown. */
  #refusedAudited<T>(base: AuditBase, checks: () => T): T {
    try {
      return checks();
    } catch (error) {
      if (error instanceof EnclaveError) this.#record(base, 'failure', error.code);
      throw error;
    }
  }

  #record(base: AuditBase, outcome: 'success' | 'failure', reason?: string): void {
    const { user, ...rest } = base;
    this.#o.audit.record({ ...rest, outcome, ...(reason ? { reason } : {}), user: auditUser(user) });
  }
}

type AuditBase = Omit<AuditEventInput, 'outcome' | 'user'> & { user: User };

/**
 * Whether a workload can be used now, from its model's check: ready,
 * being checked, or unavailable with a reason a clinician can act on.
 */
export function workloadAvailability(models: ModelRegistry, workload: WorkloadEntry): WorkloadAvailability {
  let model;
  try {
    model = models.forWorkload(workload.id).model;
  } catch {
    return {
      state: 'unavailable',
      reason:
        workload.model === null
          ? 'No model has been chosen for this workload yet. An administrator chooses one on the first-run screen.'
          : 'The model for this workload is not set up on this computer. Ask IT.',
    };
  }
  const availability = models.availability(model);
  if (availability.state === 'ready') return { state: 'ready', reason: null };
  if (availability.state === 'checking') {
    const progress = availability.progress === null ? '' : ` (${Math.floor(availability.progress * 100)}% done)`;
    return { state: 'checking', reason: `The model for this workload is being checked before first use${progress}. It can be used as soon as the check is done.` };
  }
  return { state: 'unavailable', reason: `The model for this workload was refused: ${REFUSAL_CAUSES[availability.reason ?? ''] ?? 'it did not pass its check'}. Ask IT.` };
}

/** Why a model was refused, in a clinician's words (verification.ts sets the reasons). */
const REFUSAL_CAUSES: Record<string, string> = {
  model_file_missing: 'its file is missing or cannot be read',
  model_corrupt: 'its file is damaged or is not a complete model',
  hash_mismatch: 'its file changed since IT approved it',
  model_file_unprotected: 'its file could be changed by people who are not administrators',
  model_file_changed: 'its file changed while it was being loaded',
};
