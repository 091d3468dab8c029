// Runs the `enclave` command as its own process with a time limit, so a
// regression that hangs (a FIFO, /dev/zero) fails its test instead of the run.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const LIMIT_MS = 30_000;

/** `env`: variables set (a string) or removed (undefined) on top of this process's environment. */
export async function spawnCli(args: string[], options: { env?: Record<string, string | undefined> } = {}): Promise<{ code: number; out: string; err: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/enclave.mjs', ...args], { timeout: LIMIT_MS, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, env });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code?: unknown; killed?: boolean; stdout?: string; stderr?: string };
    if (e.killed) throw new Error(`enclave ${args.join(' ')} did not finish within ${LIMIT_MS / 1000} s (it hung or read without end)`);
    return { code: typeof e.code === 'number' ? e.code : -1, out: e.stdout ?? '', err: e.stderr ?? '' };
  }
}
