// NODE_TLS_REJECT_UNAUTHORIZED=0, as a careless launcher script or a hostile
// local user might put it in Enclave's environment: Node then accepts any
// certificate on every connection that does not state rejectUnauthorized.

/** Runs `fn` with NODE_TLS_REJECT_UNAUTHORIZED=0 in this process's environment, restoring it afterwards. */
export async function withTlsVerificationOffInEnvironment<T>(fn: () => Promise<T>): Promise<T> {
  const before = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
  process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
    else process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = before;
  }
}
