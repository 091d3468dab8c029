// A child process for the crash test (test/integration/siem-crash.test.ts): a
// real headless core that writes audit events as fast as a busy workstation
// would (sign in, lock, calls refused while locked, unlock, in a loop), sealing and delivering to
// the policy's SIEM destinations while the parent kills it with SIGKILL at a
// random moment.
//
//   tsx test/support/audit-churn-process.ts <dataDir> <policy.json> churn|drain
//
// churn: prints "ready" once the core is up, then writes events until killed.
// drain: writes nothing new, waits until every sealed batch is confirmed by
// every destination, prints "drained <json status>" and exits cleanly.
import { createHeadlessCore } from '../../src/main/core/headless.js';
import { call, callError } from './core.js';

const [dataDir, policyPath, mode] = process.argv.slice(2);
if (!dataDir || !policyPath || (mode !== 'churn' && mode !== 'drain')) {
  process.stderr.write('usage: audit-churn-process.ts <dataDir> <policy.json> churn|drain\n');
  process.exit(2);
}

const PASSWORD = 'correct horse battery';
const core = await createHeadlessCore({ dataDir, policy: { path: policyPath }, log: (message, error) => process.stderr.write(`${message} ${String(error ?? '')}\n`) });
const status = await call(core, 'app.status', {});
if (status.needsFirstAccount) await call(core, 'auth.createFirstAccount', { username: 'dr.grey', displayName: 'Dr Grey', password: PASSWORD });
else if (status.session.state === 'signed-out') await call(core, 'auth.signIn', { username: 'dr.grey', password: PASSWORD });
else if (status.session.state === 'locked') await call(core, 'auth.unlock', { password: PASSWORD });
process.stdout.write('ready\n');

if (mode === 'churn') {
  for (;;) {
    await call(core, 'auth.lock', { reason: 'user' });
    // While locked every call is refused and each refusal is audited: cheap events, many per second.
    for (let i = 0; i < 40; i++) await callError(core, 'chat.list', {});
    await call(core, 'auth.unlock', { password: PASSWORD });
    // Let the outbox's sockets and timers run between events.
    await new Promise((resolve) => setImmediate(resolve));
  }
} else {
  let polls = 0;
  for (;;) {
    const siem = await call(core, 'siem.status', {});
    // Progress on stderr, which the test prints if the drain fails.
    if (polls++ % 25 === 0) process.stderr.write(`${new Date().toISOString()} ${JSON.stringify(siem)}\n`);
    if (siem.pendingEvents === 0 && siem.destinations.every((d) => d.queuedBatches === 0 && d.state !== 'sending')) {
      process.stdout.write(`drained ${JSON.stringify(siem)}\n`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await core.close();
  process.exit(0);
}
