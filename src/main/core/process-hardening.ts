// Keeps what the core holds in memory (the database key while the store
// opens, prompts, answers, the model's context) out of crash dumps.
//
// Linux: the core writes 0 to /proc/self/coredump_filter, so a core dump of
// it (a crash, or `gcore`) holds no memory mappings at all, whatever the
// system's core_pattern or ulimit say. What this does NOT do: make the process
// non-dumpable (prctl(PR_SET_DUMPABLE, 0)), which would also stop another
// process of the same user from attaching a debugger or reading
// /proc/<pid>/mem. Node has no API for prctl; it needs an FFI or native addon
// (see the note in the lead's report), so that part is the OS's job:
// kernel.yama.ptrace_scope >= 1 and core dumps off system-wide.
// Windows: the installer excludes Enclave from Windows Error Reporting
// (build/installer.nsh). macOS: nothing here; ReportCrash writes no memory.
import { readFileSync, writeFileSync } from 'node:fs';

export type CoreDumpLimit = { state: 'limited' } | { state: 'unsupported'; platform: NodeJS.Platform } | { state: 'failed'; reason: string };

const FILTER = '/proc/self/coredump_filter';

/** Best effort, never fatal: a core that cannot limit its dumps still runs, and says so in its log. */
export function limitCoreDumps(platform: NodeJS.Platform = process.platform): CoreDumpLimit {
  if (platform !== 'linux') return { state: 'unsupported', platform };
  try {
    writeFileSync(FILTER, '0');
    // The kernel takes the write; read back, since a container's /proc may not.
    const now = Number.parseInt(readFileSync(FILTER, 'utf8').trim(), 16);
    return now === 0 ? { state: 'limited' } : { state: 'failed', reason: `${FILTER} still reads ${now.toString(16)}` };
  } catch (error) {
    return { state: 'failed', reason: (error as Error).message };
  }
}

export function describeCoreDumpLimit(result: CoreDumpLimit): string | null {
  if (result.state === 'failed') return `Could not keep the core's memory out of crash dumps (${result.reason}); make sure core dumps are off on this workstation.`;
  return null;
}
