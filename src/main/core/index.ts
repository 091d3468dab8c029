// The core's composition root: opens the store, builds the services and the
// dispatcher, and exposes one `handle` for calls and one event stream. Plain
// Node only — hosted in an Electron utilityProcess in production, directly in
// tests, benchmarks and the CLI.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import type { AppStatus, EventName, EventPayload, PolicyReport, SessionState, User } from '../../shared/api.js';
import type { CallRequest, CallResponse, EventMessage } from '../../shared/rpc.js';
import { randomUUID } from 'node:crypto';
import { AuditService, auditUser, type SealSchedule } from '../audit/index.js';
import { createTransport, SiemOutbox, type BackoffOptions, type SiemDestination, type Transport } from '../siem/index.js';
import { ContentKeyRing, IdentityService } from '../identity/index.js';
import { createLlamaEngine, InferenceService, type InferenceEngine } from '../inference/index.js';
import { policyReport, PolicySchema, watchPolicy, type EffectivePolicy, type PolicyEnvironment, type PolicyResolution } from '../policy/index.js';
import { DATABASE_FILE, openStore, type Store } from '../store/index.js';
import { createDispatcher, type Handlers } from './dispatcher.js';
import { PolicyRuntime } from './policy-runtime.js';
import { TokenBatcher } from './token-stream.js';

export { DATABASE_FILE } from '../store/index.js';
export { KEY_FILE } from '../keys/index.js';

export interface CoreOptions {
  dataDir: string;
  /** Consumed: zeroed once the store is open, or failed to open. Pass a copy to keep it. */
  databaseKey: Buffer;
  /** The policy read at start: an effective policy, or the resolution with its problems. */
  policy: EffectivePolicy | PolicyResolution;
  /** Where to watch for policy changes; none in most tests. */
  policyWatch?: PolicyEnvironment & { intervalMs?: number };
  version: string;
  /** Tests substitute the engine or the clock; production uses node-llama-cpp and Date.now. */
  engine?: InferenceEngine;
  now?: () => number;
  log?: (message: string, error?: unknown) => void;
  /** Tests substitute SIEM transports and a short back-off; production builds them from policy. */
  createSiemTransport?: (destination: SiemDestination) => Transport;
  /** Where the compliance screen's exports go; default: exports/ in the data folder. */
  exportDir?: string;
  siemBackoff?: BackoffOptions;
  /** How often chat retention sweeps (tests shorten it); default every 15 minutes. */
  retentionSweepMs?: number;
}

export interface Core {
  handle(request: CallRequest): Promise<CallResponse>;
  onEvent(listener: (message: EventMessage) => void): () => void;
  readonly store: Store;
  close(): Promise<void>;
}

export async function createCore(options: CoreOptions): Promise<Core> {
  const now = options.now ?? Date.now;
  const log = options.log ?? ((message, error) => console.error(`[enclave core] ${message}`, error ?? ''));
  const initialPolicy: PolicyResolution = 'ok' in options.policy ? options.policy : { ok: true, effective: options.policy };
  let store: Store;
  try {
    store = openStore({ path: join(options.dataDir, DATABASE_FILE), key: options.databaseKey });
  } finally {
    // The core owns the key it is given, and needs it only to open the store.
    options.databaseKey.fill(0);
  }

  const listeners = new Set<(message: EventMessage) => void>();
  const emit = <E extends EventName>(event: E, payload: EventPayload<E>): void => {
    for (const listener of listeners) listener({ event, payload });
  };
  // Chat events carry a signed-in session's data: they go out only while that
  // session (by its epoch) is the active one, never to a locked screen or to
  // the next person's. Checked as each leaves, so text held for a frame across a lock is dropped too.
  const chatAudience = (epoch: number | undefined): boolean => epoch !== undefined && services?.identity.staleness(epoch) === null;
  // Answer text goes out once per frame, not once per token: every event crosses two IPC hops to the renderer.
  const tokenStream = new TokenBatcher<number>({
    send: (payload, epoch) => {
      if (chatAudience(epoch)) emit('chat.token', payload);
    },
    onError: (error) => log('sending answer text failed', error),
  });

  let hostId = store.getMeta('host.id');
  if (!hostId) {
    hostId = uuidv7();
    store.setMeta('host.id', hostId);
  }
  const hostName = hostname();
  // Batching and delivery go on under a broken policy: the last valid one, else the defaults.
  const defaults = { audit: PolicySchema.shape.audit.parse(undefined), siem: PolicySchema.shape.siem.parse(undefined), institution: PolicySchema.shape.institution.parse(undefined) };
  const auditPolicy = (): SealSchedule & { localRetentionDays: number } => policy.effective?.policy.audit ?? defaults.audit;
  const auditService = new AuditService({
    store,
    hostId,
    hostName,
    serviceVersion: options.version,
    now,
    sealing: { schedule: auditPolicy, institution: (): string => policy.effective?.policy.institution.name ?? defaults.institution.name },
    exportDir: options.exportDir ?? join(options.dataDir, 'exports'),
    log,
  });
  const audit = auditService.log;

  // A damaged chain is reported (and an unsealed damaged tail moved aside), never silently repaired.
  auditService.verifyAtStart();
  audit.record({ action: 'store.open', outcome: 'success' });
  // Enrolment: the audit signing key is made once, on the first start.
  auditService.enrol();
  const policy = new PolicyRuntime({ initial: initialPolicy, audit });

  const outbox = new SiemOutbox({
    store,
    batches: auditService.sealedBatches,
    audit,
    destinations: () => policy.effective?.policy.siem.destinations ?? [],
    localRetentionDays: () => auditPolicy().localRetentionDays,
    createTransport:
      options.createSiemTransport ??
      ((destination) =>
        createTransport(destination, {
          render: { enterpriseNumber: policy.effective?.policy.siem.enterpriseNumber ?? defaults.siem.enterpriseNumber, productVersion: options.version, vendor: 'Enclave' },
          hecChannel: (id) => {
            const key = `siem.hec_channel.${id}`;
            let channel = store.getMeta(key);
            if (!channel) {
              channel = randomUUID();
              store.setMeta(key, channel);
            }
            return channel;
          },
        })),
    now,
    onChange: (state) => emit('siem.changed', state),
    log,
    ...(options.siemBackoff ? { backoff: options.siemBackoff } : {}),
  });
  auditService.onSealed(() => outbox.kick());
  auditService.startSealing();
  await outbox.reconcile();

  const checkpointAfterLock = (): void => {
    try {
      if (!store.checkpoint()) log('the WAL checkpoint after a lock was held back by a reader; it runs at the next lock or close');
    } catch (error) {
      log('the WAL checkpoint after a lock failed', error);
    }
  };

  const engine = options.engine ?? createLlamaEngine();
  const currentPolicy = () => policy.require();
  // Built once a valid policy exists: at start, or when IT fixes a broken one.
  const buildServices = () => {
    let identity: IdentityService | undefined;
    // The signed-in person's chat keys: identity opens and forgets them, the chat service seals and opens with them.
    const contentKeys = new ContentKeyRing({ store, now });
    const inference = new InferenceService({
      store,
      audit,
      policy: currentPolicy,
      engine,
      dataDir: options.dataDir,
      now,
      events: {
        token: (payload, epoch) => tokenStream.push(payload, epoch),
        // The answer's last text is sent before its chat.done, never after.
        done: (payload, epoch) => {
          tokenStream.end(payload);
          if (chatAudience(epoch)) emit('chat.done', payload);
        },
        modelLoading: (payload) => emit('model.loading', payload),
        // Lists only the active session's answers (ChatService filters by epoch); nothing while none is active.
        queue: (payload) => {
          if (services && chatAudience(services.identity.epoch)) emit('chat.queue', payload);
        },
        modelChanged: (payload) => emit('model.changed', payload),
      },
      log,
      presentUserIds: () => {
        const state = identity?.state;
        return state && state.state !== 'signed-out' ? [state.user.id] : [];
      },
      retentionSweepMs: options.retentionSweepMs,
      chatKeys: contentKeys,
      // The identity service below answers; it exists before any call can reach the chat service.
      session: {
        get epoch(): number {
          return identity!.epoch;
        },
        staleness: (epoch: number): 'locked' | 'signed_out' | null => identity!.staleness(epoch),
      },
    });
    identity = new IdentityService({
      store,
      audit,
      policy: currentPolicy,
      now,
      onChange: (state: SessionState) => {
        // Locked or signed out, with the contexts dropped and the lock audited: the WAL's pages of the session's chats go into the database and the log is emptied.
        if (state.state !== 'active') checkpointAfterLock();
        emit('session.changed', state);
        // Retention 0 keeps a user's open sessions only while they are signed in.
        if (state.state === 'signed-out') inference.signedOut();
      },
      beforeLockOrSignOut: (reason) => inference.chat.dropAllContexts(reason),
      contentKeys,
    });
    return { inference, identity };
  };
  let services = policy.effective ? buildServices() : null;
  const live = () => {
    if (!services) {
      policy.require();
      services = buildServices();
    }
    return services;
  };
  const identityOf = () => live().identity;
  const inferenceOf = () => live().inference;
  const requireUser = (user: User | null): User => user ?? identityOf().requireActive();

  const stopWatching = options.policyWatch
    ? watchPolicy(
        options.policyWatch,
        initialPolicy,
        (resolution) => {
          const before = policy.effective?.policy.mode;
          if (policy.update(resolution, 'change') === 'unchanged') return;
          if (policy.effective && !services) services = buildServices();
          // A model swapped in policy is checked now, in the background, and used from the next session.
          else if (policy.effective) services?.inference.policyChanged();
          // Evaluation accounts mean nothing under a managed policy, and the reverse.
          if (services && before && before !== policy.effective?.policy.mode) void services.identity.signOut('policy').catch((error: unknown) => log('sign-out after a mode change failed', error));
          void outbox.reconcile().catch((error: unknown) => log('applying SIEM destinations failed', error));
          emit('policy.changed', policy.state());
        },
        { intervalMs: options.policyWatch.intervalMs, onError: (error) => log('reading the policy sources failed', error) },
      )
    : () => undefined;

  const status = (): AppStatus => {
    const effective = policy.effective;
    return {
      mode: effective?.policy.mode ?? 'managed',
      policy: policy.state(),
      policySource: effective?.source ?? 'none valid',
      institution: effective?.policy.institution.name ?? 'Enclave',
      version: options.version,
      needsFirstAccount: services?.identity.needsFirstAccount() ?? false,
      breakGlassEnabled: effective?.policy.mode === 'managed' && effective.policy.breakGlass.enabled,
      session: services?.identity.state ?? { state: 'signed-out' },
      limits: { maxPromptChars: effective?.policy.inference.maxPromptChars ?? 0, maxResponseTokens: effective?.policy.inference.maxResponseTokens ?? 0 },
    };
  };

  const handlers: Handlers = {
    'app.status': status,
    // Activity alone, perhaps reported late: the idle lock counts from idleForMs ago (the dispatcher counts other calls as activity now).
    'app.activity': (input) => {
      services?.identity.touch(input.idleForMs);
      return { ok: true as const };
    },
    'auth.createFirstAccount': (input) => identityOf().createFirstAccount(input),
    'auth.signIn': (input) => identityOf().signIn(input),
    'auth.breakGlass': (input) => identityOf().breakGlass(input),
    'auth.cards': () => (services ? services.identity.cards() : { enabled: false, readers: [], problem: null }),
    'auth.signInCard': (input) => identityOf().signInCard(input),
    'auth.signOut': () => identityOf().signOut('user'),
    'auth.lock': (input) => identityOf().lock(input.reason),
    'auth.unlock': (input) => identityOf().unlock(input.password),
    'auth.recoverChatKeys': (input) => identityOf().recoverChatKeys(input.previousPassword),
    'auth.resetChatKeys': () => identityOf().resetChatKeys(),
    'model.status': (_input, { user }) => inferenceOf().chat.status(requireUser(user)),
    'model.addFile': (input, { user }) => inferenceOf().addModelFile(requireUser(user), input.path),
    'model.createTestModel': (_input, { user }) => inferenceOf().createTestModel(requireUser(user)),
    'chat.list': (_input, { user }) => inferenceOf().chat.list(requireUser(user)),
    'chat.create': (input, { user }) => inferenceOf().chat.create(requireUser(user), input),
    'chat.open': (input, { user }) => inferenceOf().chat.open(requireUser(user), input.sessionId),
    'chat.end': (input, { user }) => inferenceOf().chat.end(requireUser(user), input.sessionId),
    'chat.delete': (input, { user }) => inferenceOf().chat.delete(requireUser(user), input.sessionId),
    'chat.send': (input, { user }) => inferenceOf().chat.send(requireUser(user), input),
    'chat.cancel': (input, { user }) => inferenceOf().chat.cancel(requireUser(user), input.sessionId),
    'prefs.get': () => identityOf().preferences(),
    'prefs.set': (input) => identityOf().setPreferences(input),
    'auth.attest': (input) => identityOf().attest(input.accept),
    'chat.rename': (input, { user }) => inferenceOf().chat.rename(requireUser(user), input),
    'chat.search': (input, { user }) => inferenceOf().chat.search(requireUser(user), input),
    'chat.regenerate': (input, { user }) => inferenceOf().chat.regenerate(requireUser(user), input),
    'chat.edit': (input, { user }) => inferenceOf().chat.edit(requireUser(user), input),
    'chat.copy': (input, { user }) => inferenceOf().chat.copy(requireUser(user), input),
    'chat.report': (input, { user }) => inferenceOf().chat.report(requireUser(user), input),
    'audit.verify': (_input, { user }) => auditService.verify(auditUser(requireUser(user))),
    'audit.search': (input, { user }) => auditService.search(input, auditUser(requireUser(user))),
    'audit.checkText': (input, { user }) => auditService.checkText(input.eventId, input.text, auditUser(requireUser(user))),
    'audit.export': (input, { user }) => {
      const officer = requireUser(user);
      return auditService.export({ filter: input, actor: auditUser(officer), exportedBy: officer.username }).bundle;
    },
    'siem.status': () => outbox.status(),
    'policy.show': (_input, { user }): PolicyReport => {
      requireUser(user);
      policy.require();
      return policyReport(policy.effective!);
    },
  };

  const dispatch = createDispatcher({
    handlers,
    session: () => services?.identity.state ?? { state: 'signed-out' },
    onDenied: (method, user, code) => {
      try {
        audit.record({ action: 'auth.denied', outcome: 'failure', reason: code, user: auditUser(user), detail: { call: method } });
      } catch (error) {
        log('could not audit a refused call', error);
      }
    },
    onInternalError: (method, error) => log(`internal error in ${method}`, error),
  });

  let closed = false;
  return {
    handle: dispatch,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    store,
    async close() {
      if (closed) return;
      closed = true;
      stopWatching();
      auditService.stopSealing();
      try {
        if (services) {
          services.identity.dispose();
          if (services.identity.state.state !== 'signed-out') await services.identity.signOut('shutdown');
          await services.inference.close();
        }
        // What happened up to shutdown is sealed now, not at the next start.
        try {
          auditService.seal();
        } catch (error) {
          log('sealing at shutdown failed; the events are sealed at the next start', error);
        }
        await outbox.stop();
      } finally {
        tokenStream.close();
        listeners.clear();
        store.close();
      }
    },
  };
}
