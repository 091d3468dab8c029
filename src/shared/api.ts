// The one contract between the renderer and the core. Every call and event the
// UI can use is listed here with its input/output schema and who may use it.
// The preload bridge, main's IPC relay, the core's dispatcher and the browser
// test bridge are all derived from these two tables, so adding a call is one
// entry here plus its handler in the core.
//
// Over 500 lines because it is one file on purpose: the single contract the
// architecture names, and a call is reviewed by reading its input, output and
// access beside its neighbours; split, the tables would import every schema
// from elsewhere and a change to the boundary would span several files.
import { z } from 'zod';

import { AbsoluteLocalPath } from './local-path.js';
import { ADMIN_ROLES, AUDIT_ROLES, CHAT_ROLES, COMPLIANCE_ROLES, ROLES, type Role as RoleName } from './roles.js';

export { ROLES } from './roles.js';
export const Role = z.enum(ROLES);
export type Role = RoleName;

/**
 * Who may make a call:
 * - 'public': anyone, signed in or not (status, sign-in, first-run).
 * - 'signed-in-or-locked': a session exists, even a locked one (unlock, sign-out).
 * - a list of roles: an active, unlocked session holding at least one of them.
 */
export type Access = 'public' | 'signed-in-or-locked' | readonly Role[];

const ALL_ROLES = ROLES;

/** Hard ceiling for any prompt crossing the boundary; policy usually sets a lower one. */
export const PROMPT_MAX_CHARS_HARD = 200_000;

const Id = z.string().uuid();
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Username = z
  .string()
  .trim()
  .min(1, 'Enter a user name.')
  .max(64, 'A user name has at most 64 characters.')
  .regex(/^[A-Za-z0-9._@-]+$/, 'A user name may contain letters, digits and . _ @ - only.');
const Password = z.string().min(1, 'Enter a password.').max(1024);
/** What a person types to sign in: name, DOMAIN\\name or a UPN. Anything printable; the directory code escapes it. */
const SignInName = z
  .string()
  .trim()
  .min(1, 'Enter a user name.')
  .max(256, 'A user name has at most 256 characters.')
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'A user name cannot contain control characters.');

export const User = z.object({
  id: Id,
  username: z.string(),
  displayName: z.string(),
  roles: z.array(Role),
  /** How this session was authenticated; the offline ones are shown as such. */
  authMethod: z.enum(['evaluation-password', 'directory-password', 'directory-password-offline', 'smart-card', 'break-glass', 'break-glass-offline']),
});
export type User = z.infer<typeof User>;

/**
 * An emergency (break-glass) session: when it ends by itself. The stated
 * reason never leaves the core (it may name a patient, and app.status is
 * public, shown on the lock screen too); compliance reads it on the audit screen.
 */
export const BreakGlass = z.object({ expiresAt: z.number() });

/**
 * The signed-in person's chat keys (their chats are sealed with keys that
 * their password or card unwraps). recoveryPending: their password changed
 * in AD since their earlier chats were wrapped; ask once for the previous
 * password (auth.recoverChatKeys) or start fresh (auth.resetChatKeys).
 * earlierChatsOpenWith: earlier chats are under keys only another factor
 * opens. damaged: a stored key did not open; those chats stay locked.
 */
export const ChatKeyState = z.object({
  recoveryPending: z.boolean(),
  earlierChatsOpenWith: z.array(z.enum(['password', 'card'])),
  damaged: z.boolean(),
});
export type ChatKeyState = z.infer<typeof ChatKeyState>;

/**
 * Policy's acceptable-use statement is due: shown at first sign-in and again
 * when policy's interval has passed since the person last accepted it. While
 * it is due, every role-gated call is refused (attestation_required) until
 * auth.attest; declining signs the person out.
 */
export const AttestationDue = z.object({ text: z.string(), lastAcceptedAt: z.number().nullable() });
export type AttestationDue = z.infer<typeof AttestationDue>;

export const SessionState = z.discriminatedUnion('state', [
  z.object({ state: z.literal('signed-out') }),
  z.object({
    state: z.literal('active'),
    user: User,
    signedInAt: z.number(),
    breakGlass: BreakGlass.optional(),
    chatKeys: ChatKeyState.optional(),
    attestation: AttestationDue.optional(),
  }),
  z.object({ state: z.literal('locked'), user: User, signedInAt: z.number(), lockedAt: z.number(), reason: z.string(), breakGlass: BreakGlass.optional(), chatKeys: ChatKeyState.optional() }),
]);
export type SessionState = z.infer<typeof SessionState>;

/**
 * Whether an allowed model may be used. checking: its file is being verified
 * (progress 0–1 while hashed). ready: verified (reason 'cached' when from the
 * hash cache, while a fresh hash runs in the background). rejected: refused,
 * reason model_file_missing, model_corrupt or hash_mismatch, with a message.
 */
export const ModelAvailability = z.object({
  state: z.enum(['checking', 'ready', 'rejected']),
  reason: z.string().nullable(),
  message: z.string().nullable(),
  progress: z.number().min(0).max(1).nullable(),
});
export type ModelAvailability = z.infer<typeof ModelAvailability>;

export const ModelSummary = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  sha256: Sha256,
  sizeBytes: z.number(),
  source: z.enum(['policy', 'evaluation']),
  /** True for the generated random-weight test model: its output is noise. */
  isTestModel: z.boolean(),
  availability: ModelAvailability,
});
export type ModelSummary = z.infer<typeof ModelSummary>;

/**
 * Whether a workload can be used now. ready: its model is verified (or not yet
 * needed). checking: its model file is being verified. unavailable: it cannot
 * be used; reason says why in words a clinician can act on (the model file is
 * missing or was refused, no evaluation model chosen yet).
 */
export const WorkloadAvailability = z.object({ state: z.enum(['ready', 'checking', 'unavailable']), reason: z.string().nullable() });
export type WorkloadAvailability = z.infer<typeof WorkloadAvailability>;

/** A workload the signed-in user's roles allow (model.status lists no others). */
export const Workload = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  modelId: z.string().nullable(),
  /** Policy lets answers of this workload be copied to the clipboard (each copy is audited). */
  copyAllowed: z.boolean(),
  availability: WorkloadAvailability,
});
export type Workload = z.infer<typeof Workload>;

export const PolicyNotice = z.object({ key: z.string().nullable(), source: z.string(), message: z.string() });
export type PolicyNotice = z.infer<typeof PolicyNotice>;

/**
 * applied: the current policy is in force. error: no valid policy at all, so
 * Enclave stays locked. previous: a changed policy did not validate and the
 * last valid one stays in force until it is fixed.
 */
export const PolicyState = z.object({
  state: z.enum(['applied', 'error', 'previous']),
  /** SHA-256 of the policy in force; null in the error state. */
  hash: z.string().nullable(),
  /** Why the newest policy was not applied (error, previous). */
  problems: z.array(PolicyNotice),
});
export type PolicyState = z.infer<typeof PolicyState>;

export const AppStatus = z.object({
  mode: z.enum(['evaluation', 'managed']),
  policy: PolicyState,
  policySource: z.string(),
  institution: z.string(),
  version: z.string(),
  needsFirstAccount: z.boolean(),
  /** Policy offers emergency (break-glass) sign-in. */
  breakGlassEnabled: z.boolean(),
  session: SessionState,
  limits: z.object({ maxPromptChars: z.number(), maxResponseTokens: z.number() }),
});
export type AppStatus = z.infer<typeof AppStatus>;

/** A model being verified or loaded (for the status bar). */
export const ModelLoading = z.object({
  modelId: z.string(),
  phase: z.enum(['verifying', 'loading', 'ready', 'failed']),
  /** 0–1 while loading, where llama.cpp reports it. */
  progress: z.number().min(0).max(1).nullable(),
  message: z.string().nullable(),
});

/**
 * Answers waiting for the model: one is written at a time (the model's
 * compute is shared), the others wait in order and can be stopped.
 */
export const GenerationQueue = z.object({
  running: z.object({ sessionId: Id, responseId: Id }).nullable(),
  waiting: z.array(z.object({ sessionId: Id, responseId: Id })),
});
export type GenerationQueue = z.infer<typeof GenerationQueue>;

export const InferenceStatus = z.object({
  models: z.array(ModelSummary),
  /** The workloads the signed-in user may use, in policy order; the first is their default. Empty: none is open to their roles. */
  workloads: z.array(Workload),
  allowUserModels: z.boolean(),
  loadedModelId: z.string().nullable(),
  /** What llama.cpp runs on, e.g. 'cpu' or 'cuda'; null until a model was loaded. */
  device: z.object({ kind: z.enum(['cpu', 'cuda', 'vulkan', 'metal']), name: z.string() }).nullable(),
  /** The loaded model's layers on the GPU, and why it runs on fewer than asked (e.g. not enough VRAM); null until loaded. */
  offload: z.object({ gpuLayers: z.number(), totalLayers: z.number(), fallback: z.string().nullable() }).nullable(),
  /** A model being verified or loaded now, with progress 0–1 where known. */
  loading: ModelLoading.nullable(),
  queue: GenerationQueue,
});
export type InferenceStatus = z.infer<typeof InferenceStatus>;

export const ChatSessionSummary = z.object({
  id: Id,
  title: z.string(),
  workloadId: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
  endedAt: z.number().nullable(),
  /** Sealed with a key this sign-in does not hold (another factor's, or an earlier password's): no title, cannot be opened. */
  locked: z.boolean().optional(),
});
export type ChatSessionSummary = z.infer<typeof ChatSessionSummary>;

/** Per-person display settings, kept with the account on this workstation (never PHI). */
export const UserPreferences = z.object({
  /** Text size in percent of the default: 80–200. */
  textScale: z.number().int().min(80).max(200),
  theme: z.enum(['system', 'light', 'dark']),
});
export type UserPreferences = z.infer<typeof UserPreferences>;

/** One place a chat.search query was found: a message, or the session's title (messageId null). */
export const ChatSearchHit = z.object({
  sessionId: Id,
  sessionTitle: z.string(),
  messageId: Id.nullable(),
  role: z.enum(['user', 'assistant']).nullable(),
  /** Up to about 160 characters around the match, whitespace collapsed. */
  snippet: z.string(),
  /** Where the match lies inside snippet (UTF-16 offsets). */
  matchStart: z.number().int().nonnegative(),
  matchLength: z.number().int().nonnegative(),
  createdAt: z.number(),
});
export type ChatSearchHit = z.infer<typeof ChatSearchHit>;

export const ReportCategory = z.enum(['wrong', 'unsafe', 'other-patient', 'other']);
export type ReportCategory = z.infer<typeof ReportCategory>;

export const MessageStatus = z.enum(['complete', 'cancelled', 'failed']);
export const ChatMessage = z.object({
  id: Id,
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  status: MessageStatus,
  createdAt: z.number(),
  /** For an assistant message, the prompt it answers. */
  replyTo: Id.nullable(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const AuditVerifyReport = z.object({
  ok: z.boolean(),
  eventsChecked: z.number(),
  headSequence: z.number(),
  headHash: Sha256.nullable(),
  /** Signed batch manifests checked (signature, chain, and the events against their Merkle roots). */
  manifestsChecked: z.number().optional(),
  /** The last event a verified signed manifest covers: events after it are not signed yet (0: none). */
  signedThroughSequence: z.number().optional(),
  firstBad: z
    .object({
      sequence: z.number(),
      /** bad_signature / broken_chain: a signed manifest itself (batchSeq names it) fails its signature or its chain. */
      problem: z.enum(['modified', 'missing', 'reordered', 'malformed', 'bad_signature', 'broken_chain']),
      detail: z.string(),
      /** The signed batch the problem lies under, when it lies under one. */
      batchSeq: z.number().optional(),
    })
    .nullable(),
});
export type AuditVerifyReport = z.infer<typeof AuditVerifyReport>;

/** What the compliance officer filters by: times are UTC milliseconds, both ends inclusive. */
export const AuditFilter = z
  .object({
    from: z.number().int().nonnegative().optional(),
    to: z.number().int().nonnegative().optional(),
    /** The user's name as recorded (UPN or local name), matched exactly, ignoring case. */
    user: z.string().trim().min(1).max(256).optional(),
    action: z
      .string()
      .regex(/^[a-z_]+\.[a-z_]+$/, 'An action looks like auth.login.')
      .max(64)
      .optional(),
    outcome: z.enum(['success', 'failure', 'unknown']).optional(),
  })
  .strict()
  .refine((f) => f.from === undefined || f.to === undefined || f.from <= f.to, { message: 'The start of the range is after its end.', path: ['from'] });
export type AuditFilter = z.infer<typeof AuditFilter>;

export const AuditEventSummary = z.object({
  sequence: z.number(),
  id: z.string(),
  timestamp: z.string(),
  action: z.string(),
  outcome: z.enum(['success', 'failure', 'unknown']),
  reason: z.string().nullable(),
  user: z.string().nullable(),
  roles: z.array(z.string()),
  authMethod: z.string().nullable(),
  sessionId: z.string().nullable(),
  /** The batch that seals the event, or null while it waits to be sealed. */
  batchSeq: z.number().nullable(),
  /** The whole canonical record, for the detail view. */
  record: z.string(),
  /** Text a person typed that the event is about (a break-glass reason, a mistyped user name), by field: kept on this workstation only, never in the record. */
  privateText: z.record(z.string(), z.string()),
});
export type AuditEventSummary = z.infer<typeof AuditEventSummary>;

export const AuditSearchResult = z.object({
  events: z.array(AuditEventSummary),
  /** How many events match in all (the page holds at most `limit`). */
  total: z.number(),
  /** Pass as `beforeSequence` for the next (older) page; null on the last. */
  nextBeforeSequence: z.number().nullable(),
});

export const AuditExportResult = z.object({
  /** The bundle folder: verify it anywhere with `enclave audit verify --bundle <folder> --key-id <id>`. */
  directory: z.string(),
  csvFile: z.string(),
  selectedEvents: z.number(),
  coveredEvents: z.number(),
  batches: z.number(),
  keyIds: z.array(Sha256),
});
export type AuditExportResult = z.infer<typeof AuditExportResult>;

/** audit.checkText's answer: whether the text matches, which field, and the fields the event could be checked against. */
export const AuditTextCheck = z.object({
  eventId: z.string(),
  sequence: z.number(),
  matches: z.boolean(),
  /** prompt, response, user.name or detail.<field> (e.g. detail.stated_reason); null when nothing matched. */
  field: z.string().nullable(),
  fields: z.array(z.string()),
});
export type AuditTextCheck = z.infer<typeof AuditTextCheck>;

export const SiemDestinationStatus = z.object({
  id: z.string(),
  type: z.enum(['syslog-tls', 'splunk-hec', 'https-json']),
  /** host:port or URL without credentials. */
  target: z.string(),
  /** online: the last attempt succeeded; offline: it failed and a retry is scheduled; sending: a batch is in flight; idle: nothing sent yet and nothing to send. */
  state: z.enum(['online', 'offline', 'sending', 'idle']),
  queuedBatches: z.number(),
  lastSuccessAt: z.number().nullable(),
  lastFailure: z.object({ at: z.number(), code: z.string(), message: z.string() }).nullable(),
  nextAttemptAt: z.number().nullable(),
});
export type SiemDestinationStatus = z.infer<typeof SiemDestinationStatus>;

export const SiemStatus = z.object({
  destinations: z.array(SiemDestinationStatus),
  /** Events written but not yet sealed into a signed batch. */
  pendingEvents: z.number(),
  lastBatchSeq: z.number().nullable(),
  lastSealedAt: z.number().nullable(),
});
export type SiemStatus = z.infer<typeof SiemStatus>;

const Empty = z.object({}).strict();
const Ok = z.object({ ok: z.literal(true) });

interface CallSpec {
  readonly input: z.ZodType;
  readonly output: z.ZodType;
  readonly access: Access;
  readonly summary: string;
}

export const CardStatus = z.object({
  enabled: z.boolean(),
  readers: z.array(z.object({ slotId: z.string(), reader: z.string(), card: z.object({ label: z.string(), serial: z.string() }).nullable() })),
  /** Why the readers could not be listed (module missing), for the sign-in screen. */
  problem: z.string().nullable(),
});
export type CardStatus = z.infer<typeof CardStatus>;

export const PolicyReport = z.object({
  hash: z.string(),
  sources: z.array(z.string()),
  settings: z.array(
    z.object({
      key: z.string(),
      value: z.json(),
      source: z.string(),
      overridden: z.array(z.object({ source: z.string(), value: z.json() })),
    }),
  ),
  warnings: z.array(PolicyNotice),
});
export type PolicyReport = z.infer<typeof PolicyReport>;

export const calls = {
  'app.status': { input: Empty, output: AppStatus, access: 'public', summary: 'Mode, policy, session and limits.' },
  'app.activity': {
    input: z.object({ idleForMs: z.number().int().min(0).max(600_000).default(0) }).strict(),
    output: Ok,
    access: 'signed-in-or-locked',
    summary: 'The user did something (idleForMs ago, for a report the renderer sent late); resets the idle lock from that moment.',
  },
  'prefs.get': { input: Empty, output: UserPreferences, access: 'signed-in-or-locked', summary: "The signed-in person's text size and theme." },
  'prefs.set': {
    input: UserPreferences.partial().strict(),
    output: UserPreferences,
    access: 'signed-in-or-locked',
    summary: "Change the signed-in person's text size or theme; kept with their account on this workstation.",
  },

  'auth.createFirstAccount': {
    input: z.object({ username: Username, displayName: z.string().trim().min(1).max(128), password: z.string().min(12, 'Use at least 12 characters.').max(1024) }).strict(),
    output: SessionState,
    access: 'public',
    summary: 'Evaluation mode, first run only: create the local evaluation account and sign it in.',
  },
  'auth.signIn': {
    input: z.object({ username: SignInName, password: Password }).strict(),
    output: SessionState,
    access: 'public',
    summary: 'Sign in; at a locked workstation the same person unlocks, and a different person ends the first session.',
  },
  'auth.cards': { input: Empty, output: CardStatus, access: 'public', summary: 'Smart-card readers and the cards in them (empty unless policy enables smart cards).' },
  'auth.signInCard': {
    input: z.object({ slotId: z.string().regex(/^[0-9a-f]{1,64}$/), pin: z.string().min(4, 'A PIN has at least 4 digits.').max(64) }).strict(),
    output: SessionState,
    access: 'public',
    summary: 'Smart-card sign-in: PIN on the card, challenge signed by the card, certificate chain and CRL checked, UPN mapped to the directory account.',
  },
  'auth.breakGlass': {
    input: z
      .object({
        username: SignInName,
        password: Password,
        reason: z.string().trim().min(10, 'Say in a sentence why emergency access is needed (at least 10 characters).').max(500),
      })
      .strict(),
    output: SessionState,
    access: 'public',
    summary: 'Emergency sign-in for a break-glass group member, with a stated reason; time-limited, flagged and audited as auth.breakglass.',
  },
  'auth.signOut': { input: Empty, output: SessionState, access: 'signed-in-or-locked', summary: 'Sign out and drop every model context.' },
  'auth.lock': {
    input: z.object({ reason: z.enum(['user', 'screen-locked', 'suspend']).default('user') }).strict(),
    output: SessionState,
    access: ALL_ROLES,
    summary: 'Lock now; model contexts are dropped. Main locks with the OS screen lock and before suspend.',
  },
  'auth.attest': {
    input: z.object({ accept: z.boolean() }).strict(),
    output: SessionState,
    access: 'signed-in-or-locked',
    summary: "Accept or decline policy's acceptable-use statement when it is due (audited as auth.attest); declining signs the person out.",
  },
  'auth.unlock': { input: z.object({ password: Password }).strict(), output: SessionState, access: 'signed-in-or-locked', summary: 'Unlock as the same user.' },
  'auth.recoverChatKeys': {
    input: z.object({ previousPassword: Password }).strict(),
    output: SessionState,
    access: ALL_ROLES,
    summary: 'After a password change in AD: the previous password opens the earlier chats, which are rewrapped under the new one (audited as auth.key_recover; a wrong one counts toward lockout).',
  },
  'auth.resetChatKeys': {
    input: Empty,
    output: SessionState,
    access: ALL_ROLES,
    summary: 'After a password change in AD: start fresh; earlier chats stay locked until retention deletes them (audited as auth.key_reset).',
  },

  'model.status': { input: Empty, output: InferenceStatus, access: ALL_ROLES, summary: "Models, the workloads the user's roles allow, and the inference device." },
  'model.addFile': {
    input: z.object({ path: AbsoluteLocalPath }).strict(),
    output: ModelSummary,
    access: ADMIN_ROLES,
    summary: 'Evaluation mode: allow a local GGUF file (hashed and checked) as the model.',
  },
  'model.createTestModel': { input: Empty, output: ModelSummary, access: ADMIN_ROLES, summary: 'Evaluation mode: generate the random-weight test model and use it.' },

  'chat.list': { input: Empty, output: z.array(ChatSessionSummary), access: CHAT_ROLES, summary: "The signed-in user's sessions, newest first." },
  'chat.create': {
    input: z.object({ workloadId: z.string().min(1).max(64).optional(), title: z.string().max(200).optional() }).strict(),
    output: ChatSessionSummary,
    access: CHAT_ROLES,
    summary: "Start a chat session with a workload the user's roles allow (default: the first of them); any other is refused and audited.",
  },
  'chat.open': {
    input: z.object({ sessionId: Id }).strict(),
    output: z.object({ session: ChatSessionSummary, messages: z.array(ChatMessage) }),
    access: CHAT_ROLES,
    summary: 'A session with its messages.',
  },
  'chat.end': { input: z.object({ sessionId: Id }).strict(), output: ChatSessionSummary, access: CHAT_ROLES, summary: 'End a session; its model context is disposed.' },
  'chat.delete': {
    input: z.object({ sessionId: Id }).strict(),
    output: z.object({ sessionId: Id, messages: z.number().int().nonnegative() }),
    access: CHAT_ROLES,
    summary: "Delete one of the user's own sessions and all its messages now (audited); an answer under way is stopped first.",
  },
  'chat.rename': {
    input: z.object({ sessionId: Id, title: z.string().trim().min(1, 'Give the session a name.').max(200, 'A session name has at most 200 characters.') }).strict(),
    output: ChatSessionSummary,
    access: CHAT_ROLES,
    summary: "Rename one of the user's own sessions (audited as session.rename, never the title).",
  },
  'chat.search': {
    input: z.object({ query: z.string().trim().min(2, 'Type at least 2 characters to search.').max(200), limit: z.number().int().min(1).max(200).default(50) }).strict(),
    output: z.object({ hits: z.array(ChatSearchHit), sessionsSearched: z.number().int().nonnegative(), truncated: z.boolean() }),
    access: CHAT_ROLES,
    summary: "Find text in the user's own sessions (titles and messages), newest first; searched in memory after decrypting with their key, never through a plaintext index.",
  },
  'chat.send': {
    input: z.object({ sessionId: Id, text: z.string().trim().min(1, 'Type a prompt first.').max(PROMPT_MAX_CHARS_HARD) }).strict(),
    output: z.object({ promptId: Id, responseId: Id }),
    access: CHAT_ROLES,
    summary: 'Send a prompt; the answer arrives as chat.token events and ends with chat.done.',
  },
  'chat.regenerate': {
    input: z.object({ sessionId: Id }).strict(),
    output: z.object({ promptId: Id, responseId: Id }),
    access: CHAT_ROLES,
    summary: "Answer the session's last prompt again; the previous answer is replaced (audited).",
  },
  'chat.edit': {
    input: z.object({ sessionId: Id, promptId: Id, text: z.string().trim().min(1, 'Type a prompt first.').max(PROMPT_MAX_CHARS_HARD) }).strict(),
    output: z.object({ promptId: Id, responseId: Id }),
    access: CHAT_ROLES,
    summary: "Replace the session's last prompt (promptId must still be the last) with new text and answer it; the earlier prompt and its answer are removed (audited).",
  },
  'chat.copy': {
    input: z.object({ sessionId: Id, messageId: Id, part: z.enum(['answer', 'code-block', 'prompt']), chars: z.number().int().min(1).max(10_000_000) }).strict(),
    output: Ok,
    access: CHAT_ROLES,
    summary:
      'Ask to copy (part of) a message to the clipboard: refused when policy turns copying off for the workload; audited as ai.copy with what and how long, never the text. The renderer writes the clipboard only after this succeeds.',
  },
  'chat.report': {
    input: z.object({ sessionId: Id, messageId: Id, category: ReportCategory }).strict(),
    output: Ok,
    access: CHAT_ROLES,
    summary:
      'Report a problem with an answer (wrong, unsafe, contains another patient’s data): audited as ai.report with the category and message id, sealed and sent to the SIEM at once; never the text.',
  },
  'chat.cancel': { input: z.object({ sessionId: Id }).strict(), output: z.object({ cancelled: z.boolean() }), access: CHAT_ROLES, summary: 'Stop the answer being generated.' },

  'audit.verify': { input: Empty, output: AuditVerifyReport, access: AUDIT_ROLES, summary: 'Verify the local audit chain.' },
  'audit.search': {
    input: AuditFilter.and(z.object({ limit: z.number().int().min(1).max(500).default(100), beforeSequence: z.number().int().positive().optional() }).strict()),
    output: AuditSearchResult,
    access: COMPLIANCE_ROLES,
    summary: 'Audit events matching a filter, newest first; the search itself is audited.',
  },
  'audit.export': {
    input: AuditFilter,
    output: AuditExportResult,
    access: COMPLIANCE_ROLES,
    summary: 'Seal what is waiting and write a self-contained, verifiable bundle (and CSV) of the matching events; audited.',
  },
  'audit.checkText': {
    input: z.object({ eventId: z.string().uuid(), text: z.string().min(1, 'Paste the text to check.').max(1_000_000) }).strict(),
    output: AuditTextCheck,
    access: COMPLIANCE_ROLES,
    summary: 'Was this exact text the prompt, answer or typed text of that event? Compared by keyed hash on this workstation; audited (never the text).',
  },
  'siem.status': { input: Empty, output: SiemStatus, access: ALL_ROLES, summary: 'Delivery to each SIEM destination: online or not, queued batches, last success and failure.' },

  'policy.show': { input: Empty, output: PolicyReport, access: ADMIN_ROLES, summary: 'The effective policy, each value with the source it came from.' },
} as const satisfies Record<string, CallSpec>;

export const events = {
  'session.changed': SessionState,
  'chat.token': z.object({ sessionId: Id, responseId: Id, text: z.string() }),
  'chat.done': z.object({
    sessionId: Id,
    responseId: Id,
    status: MessageStatus,
    /** The stored message, as it will be shown from now on. */
    message: ChatMessage.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  }),
  /** The policy in force changed (or failed to); read app.status again. */
  'policy.changed': PolicyState,
  /** Delivery state changed (a batch sealed, sent, or a destination failed). */
  'siem.changed': SiemStatus,
  'model.loading': ModelLoading,
  /** A model's availability changed (checked, refused, or its check progressed); read model.status again. */
  'model.changed': z.object({ modelId: z.string() }),
  /** The answers waiting for the model changed. */
  'chat.queue': GenerationQueue,
} as const;

export type Calls = typeof calls;
export type CallName = keyof Calls;
export type CallInput<K extends CallName> = z.input<Calls[K]['input']>;
export type CallOutput<K extends CallName> = z.output<Calls[K]['output']>;
export type EventName = keyof typeof events;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

export const CALL_NAMES = Object.keys(calls) as CallName[];
export const EVENT_NAMES = Object.keys(events) as EventName[];

export function isCallName(value: unknown): value is CallName {
  return typeof value === 'string' && Object.hasOwn(calls, value);
}
export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.hasOwn(events, value);
}
