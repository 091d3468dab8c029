// Runs the production core entry (src/main/core/utility-entry.ts) the way
// Electron's utilityProcess would, with a parent port that never sends the
// init message: the core does what it does before it is given the key, then
// waits. Prints "waiting" when the entry has run; the test reads /proc/<pid>.
(process as unknown as { parentPort: unknown }).parentPort = {
  on: () => undefined,
  once: () => undefined,
  postMessage: () => undefined,
};
await import('../../src/main/core/utility-entry.js');
setInterval(() => undefined, 60_000);
process.stdout.write('waiting\n');
export {};
