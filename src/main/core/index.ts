// The core's composition root: opens the store, builds the services and the
// dispatcher, and exposes one `handle` for calls and one event stream. Plain
// Node only — hosted in an Electron utilityProcess in production, directly in
// tests, benchmarks and the CLI.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import type { EventName, EventPayload, SessionState, User } from '../../shared/api.js';
import type { CallRequest, CallResponse, EventMessage } from '../../shared/rpc.js';
import { AuditLog, verifyAuditChain } from '../audit/index.js';
import { auditUser, IdentityService } from '../identity/index.js';
import { createLlamaEngine, InferenceService, type InferenceEngine } from '../inference/index.js';
import type { EffectivePolicy } from '../policy/index.js';
import { openStore, type Store } from '../store/index.js';
import { createDispatcher, type Handlers } from './dispatcher.js';

export const DATABASE_FILE = 'enclave.db';
export { KEY_FILE } from '../keys/index.js';

export interface CoreOptions {
  dataDir: string;
  databaseKey: Buffer;
  policy: EffectivePolicy;
  version: string;
  /** Tests substitute the engine or the clock; production uses node-llama-cpp and Date.now. */
  engine?: InferenceEngine;
  now?: () => number;
  log?: (message: string, error?: unknown) => void;
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
  const { policy } = options.policy;
  const store = openStore({ path: join(options.dataDir, DATABASE_FILE), key: options.databaseKey });

  const listeners = new Set<(message: EventMessage) => void>();
  const emit = <E extends EventName>(event: E, payload: EventPayload<E>): void => {
    for (const listener of listeners) listener({ event, payload });
  };

  let hostId = store.getMeta('host.id');
  if (!hostId) {
    hostId = uuidv7();
    store.setMeta('host.id', hostId);
  }
  const audit = new AuditLog(store, { hostId, hostName: hostname(), serviceVersion: options.version, now });

  // A damaged chain is reported, never silently repaired (quarantine comes with signed batches).
  const chain = verifyAuditChain(store.db);
  if (!chain.ok && chain.firstBad) {
    audit.record({ action: 'audit.corruption_detected', outcome: 'failure', reason: chain.firstBad.problem, detail: { first_bad_sequence: chain.firstBad.sequence, detail: chain.firstBad.detail } });
  }
  audit.record({ action: 'store.open', outcome: 'success', detail: { policy_source: options.policy.source, mode: policy.mode } });

  const engine = options.engine ?? createLlamaEngine();
  const inference = new InferenceService({
    store,
    audit,
    policy,
    engine,
    dataDir: options.dataDir,
    now,
    events: {
      token: (payload) => emit('chat.token', payload),
      done: (payload) => emit('chat.done', payload),
      modelLoading: (payload) => emit('model.loading', payload),
    },
  });
  const identity = new IdentityService({
    store,
    audit,
    policy,
    now,
    onChange: (state: SessionState) => emit('session.changed', state),
    beforeLockOrSignOut: (reason) => inference.chat.dropAllContexts(reason),
  });
  const requireUser = (user: User | null): User => user ?? identity.requireActive();

  const handlers: Handlers = {
    'app.status': () => ({
      mode: policy.mode,
      policySource: options.policy.source,
      institution: policy.institution.name,
      version: options.version,
      needsFirstAccount: identity.needsFirstAccount(),
      session: identity.state,
      limits: { maxPromptChars: policy.inference.maxPromptChars, maxResponseTokens: policy.inference.maxResponseTokens },
    }),
    // The dispatcher counts every call as activity; this call exists for activity alone.
    'app.activity': () => ({ ok: true as const }),
    'auth.createFirstAccount': (input) => identity.createFirstAccount(input),
    'auth.signIn': (input) => identity.signIn(input),
    'auth.signOut': () => identity.signOut('user'),
    'auth.lock': () => identity.lock('user'),
    'auth.unlock': (input) => identity.unlock(input.password),
    'model.status': () => inference.chat.status(),
    'model.addFile': (input, { user }) => inference.addModelFile(requireUser(user), input.path),
    'model.createTestModel': (_input, { user }) => inference.createTestModel(requireUser(user)),
    'chat.list': (_input, { user }) => inference.chat.list(requireUser(user)),
    'chat.create': (input, { user }) => inference.chat.create(requireUser(user), input),
    'chat.open': (input, { user }) => inference.chat.open(requireUser(user), input.sessionId),
    'chat.end': (input, { user }) => inference.chat.end(requireUser(user), input.sessionId),
    'chat.send': (input, { user }) => inference.chat.send(requireUser(user), input),
    'chat.cancel': (input, { user }) => inference.chat.cancel(requireUser(user), input.sessionId),
    'audit.verify': (_input, { user }) => {
      const report = verifyAuditChain(store.db);
      audit.record({
        action: 'audit.verify',
        outcome: report.ok ? 'success' : 'failure',
        ...(report.firstBad ? { reason: report.firstBad.problem } : {}),
        user: auditUser(requireUser(user)),
        detail: { events_checked: report.eventsChecked, first_bad_sequence: report.firstBad?.sequence ?? null },
      });
      return report;
    },
  };

  const dispatch = createDispatcher({
    handlers,
    session: () => identity.state,
    onDenied: (method, user, code) => {
      try {
        audit.record({ action: 'auth.denied', outcome: 'failure', reason: code, user: auditUser(user), detail: { call: method } });
      } catch (error) {
        log('could not audit a refused call', error);
      }
    },
    onActivity: () => identity.touch(),
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
      identity.dispose();
      try {
        if (identity.state.state !== 'signed-out') await identity.signOut('shutdown');
        await inference.chat.close();
      } finally {
        listeners.clear();
        store.close();
      }
    },
  };
}
