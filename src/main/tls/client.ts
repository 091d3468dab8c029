// Client TLS options for every connection Enclave opens: LDAPS and StartTLS to
// the domain controllers, syslog over TLS and HTTPS to the SIEM, the doctor's
// HTTPS check. Node verifies a server's certificate only by default: with
// NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment, a connection whose
// options leave rejectUnauthorized unset accepts any certificate. Options built
// here always say rejectUnauthorized: true, which the variable cannot
// override, and TLS 1.2 or later; a caller cannot pass either away. (The
// doctor's probes that open with rejectUnauthorized: false on purpose judge
// socket.authorized themselves, which the variable does not change.)
import type { SecureVersion } from 'node:tls';

/** TLS 1.2 is the floor (HIPAA transmission security; RFC 5425 asks the same of syslog). */
export const MIN_TLS_VERSION: SecureVersion = 'TLSv1.2';

interface TlsClientFields {
  rejectUnauthorized?: boolean | undefined;
  checkServerIdentity?: unknown;
  minVersion?: SecureVersion | undefined;
}

/** What a caller may choose: everything except turning verification off or replacing the name check. */
export type ClientTlsChoices<T extends TlsClientFields> = Omit<T, 'rejectUnauthorized' | 'checkServerIdentity'>;

/** `choices` (tls.connect, https.request or ldapts options) with certificate verification stated, never defaulted. */
export function verifiedClientTls<T extends TlsClientFields>(choices: ClientTlsChoices<T>): ClientTlsChoices<T> & { rejectUnauthorized: true; minVersion: SecureVersion } {
  // Removed at run time too: a cast or a spread object could still carry them.
  const { rejectUnauthorized: _verify, checkServerIdentity: _names, ...rest } = choices as TlsClientFields;
  return { minVersion: MIN_TLS_VERSION, ...(rest as ClientTlsChoices<T>), rejectUnauthorized: true };
}
