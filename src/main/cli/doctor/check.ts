// What every doctor check returns, and the small helpers the checks share.
import { accessSync, constants, statSync } from 'node:fs';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** Plain English, written for the IT admin at the workstation: what was found and what to do. */
  detail: string;
}

export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
export const warn = (name: string, detail: string): CheckResult => ({ name, status: 'warn', detail });
export const fail = (name: string, detail: string): CheckResult => ({ name, status: 'fail', detail });
export const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });

const RANK: Record<CheckStatus, number> = { skip: 0, ok: 1, warn: 2, fail: 3 };

/** The most serious of the statuses (skip < ok < warn < fail). */
export function worst(statuses: readonly CheckStatus[]): CheckStatus {
  return statuses.reduce<CheckStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'skip');
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

export class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${seconds(ms)}`);
    this.name = 'TimeoutError';
  }
}

/** Resolves or rejects like `promise`, or rejects with a TimeoutError after `ms`. The timer never keeps the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Why a file that policy names cannot be used, or null when it is a readable
 * regular file. `setting` is the policy key, so the admin knows what to fix.
 */
export function fileProblem(path: string, setting: string): string | null {
  try {
    const stats = statSync(path);
    if (!stats.isFile()) return `${setting} ${path} is not a file`;
    accessSync(path, constants.R_OK);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `${setting} ${path} does not exist`;
    if (code === 'EACCES' || code === 'EPERM') return `${setting} ${path} cannot be read (permission denied)`;
    return `${setting} ${path} cannot be read (${messageOf(error)})`;
  }
}

// A UTC date for messages (2026-03-01): the one the tls module names certificate dates with.
export { day } from '../../tls/index.js';

export const DAY_MS = 86_400_000;
