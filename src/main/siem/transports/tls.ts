// The TLS side of every SIEM transport (syslog over TLS, Splunk HEC, HTTPS
// JSON), on the one PKI/TLS module (tls/): the destination's files loaded as
// one secure context, and network and TLS failures as DeliveryErrors, the
// delivery code the outbox acts on and the sentence the status bar, the audit
// record of the outage and the IT admin read.
import {
  classifyNetworkError,
  closedAfterHandshake,
  loadTlsMaterial as loadMaterial,
  TlsMaterialError,
  type ConnectionStage,
  type DeliveryContext,
  type NetworkFailureCode,
  type TlsMaterial,
} from '../../tls/index.js';
import { DeliveryError, type DeliveryErrorCode, type SiemDestination } from '../types.js';

export type { ConnectionStage, TlsMaterial };

/** What a message about a failed connection may name. */
export type ConnectionContext = Omit<DeliveryContext, 'for'>;

/** The context of a connection made with `material`. */
export function connectionContext(address: string, material: Pick<TlsMaterial, 'caFile' | 'clientCertFile'>, stage?: ConnectionStage): ConnectionContext {
  return { address, caFile: material.caFile, clientCertFile: material.clientCertFile, stage };
}

/** The outbox's code for each network condition. */
const DELIVERY_CODE: Record<NetworkFailureCode, DeliveryErrorCode> = {
  server_certificate_untrusted: 'certificate_rejected',
  server_certificate_name_mismatch: 'certificate_rejected',
  server_certificate_expired: 'certificate_rejected',
  server_certificate_not_yet_valid: 'certificate_rejected',
  server_certificate_revoked: 'certificate_rejected',
  server_certificate_refused: 'certificate_rejected',
  client_certificate_refused: 'client_certificate_rejected',
  closed_after_handshake: 'client_certificate_rejected',
  no_common_tls_version: 'rejected',
  tls_alert: 'rejected',
  not_tls: 'server_error',
  connection_refused: 'host_unreachable',
  host_unknown: 'host_unreachable',
  dns_unavailable: 'host_unreachable',
  no_route: 'host_unreachable',
  timeout: 'timeout',
  tls_handshake_timeout: 'timeout',
  connection_reset: 'connection_reset',
  other: 'connection_reset',
};

/**
 * A socket, TLS or HTTPS request error as a DeliveryError with words an IT
 * admin can act on. Errors that are already DeliveryErrors pass through unchanged.
 */
export function deliveryErrorFromNetwork(error: unknown, context: ConnectionContext): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const failure = classifyNetworkError(error, { for: 'siem-delivery', ...context });
  return new DeliveryError(DELIVERY_CODE[failure.code], failure.sentence, { cause: error });
}

/** The receiver closed the connection right after the TLS handshake, before it took any data and without a TLS alert. */
export function refusedAfterHandshake(context: ConnectionContext, cause?: unknown): DeliveryError {
  const failure = closedAfterHandshake({ for: 'siem-delivery', ...context });
  return new DeliveryError(DELIVERY_CODE[failure.code], failure.sentence, cause === undefined ? undefined : { cause });
}

/** What loadTlsMaterial reads of a destination (every SIEM destination type has these). */
export type TlsFiles = Pick<SiemDestination, 'id' | 'caFile' | 'clientCertFile' | 'clientKeyFile'>;

/**
 * The destination's caFile, clientCertFile and clientKeyFile, read now (at
 * send time, so a file IT fixes is used by the next attempt without a
 * restart) as one secure context; a file that cannot be read or used is a
 * 'configuration' error that names it.
 */
export async function loadTlsMaterial(destination: TlsFiles): Promise<TlsMaterial> {
  try {
    return await loadMaterial(destination, `SIEM destination "${destination.id}"`);
  } catch (error) {
    if (error instanceof TlsMaterialError) throw new DeliveryError('configuration', error.message, error.cause === undefined ? undefined : { cause: error.cause });
    throw error;
  }
}
