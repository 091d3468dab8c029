// The HTTPS client shared by the Splunk HEC and HTTPS JSON transports. Built on
// node:https rather than fetch because each destination brings its own CA,
// client certificate and key (mutual TLS), we insist on TLS 1.2 or later, and
// every failure must come out as a DeliveryError with an exact code and words
// an IT administrator can act on. The TLS material and the words for network
// and TLS failures come from ./tls.ts (on tls/), shared with the syslog transport.
//
// One connection per request (no keep-alive pool): a batch is a handful of
// POSTs, and a fresh connection means a rotated certificate or CA file takes
// effect on the next send and no request ever lands on a socket the server
// already half-closed.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { SecureContext } from 'node:tls';
import { verifiedClientTls } from '../../tls/index.js';
import { connectionContext, deliveryErrorFromNetwork, type ConnectionStage, type TlsMaterial } from './tls.js';
import { DeliveryError } from '../types.js';

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpsPostOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  /** The whole exchange (connect, TLS, request, answer) must finish within this. */
  timeoutMs: number;
  /** Answers longer than this are refused (a receiver has no business sending more). */
  maxResponseBytes: number;
}

/**
 * POSTs `body` to `url` over TLS 1.2+ with the given material and resolves with
 * the answer, whatever its status. Rejects with a DeliveryError for every
 * network and TLS failure, or with the signal's reason when aborted.
 */
export function httpsPost(url: URL, body: string | Buffer, tls: TlsMaterial, options: HttpsPostOptions): Promise<HttpsResponse> {
  const { signal } = options;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  if (url.protocol !== 'https:') return Promise.reject(new DeliveryError('configuration', `The destination's URL ${url.origin} is not https://.`));
  const address = url.port ? `${url.hostname}:${url.port}` : `${url.hostname}:443`;
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;

  return new Promise<HttpsResponse>((resolve, reject) => {
    let settled = false;
    // How far the exchange got, for the words of a failure: a reset before any answer may be a refused client certificate.
    let stage: ConnectionStage = 'handshake';
    const networkError = (error: unknown): DeliveryError => deliveryErrorFromNetwork(error, connectionContext(address, tls, stage));
    const finish = (error: unknown, response?: HttpsResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (error === undefined && response) resolve(response);
      else reject(error);
    };

    // https passes secureContext on to tls.connect(); @types/node leaves it out of RequestOptions.
    // Verified whatever NODE_TLS_REJECT_UNAUTHORIZED says.
    const requestOptions = verifiedClientTls<RequestOptions & { secureContext: SecureContext }>({
      method: 'POST',
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || 443,
      path: `${url.pathname}${url.search}`,
      headers: { ...options.headers, 'Content-Length': String(payload.length), Connection: 'close' },
      secureContext: tls.secureContext,
      // A fresh connection for every request (see the top of the file).
      agent: false,
    });
    const req = httpsRequest(requestOptions, (res) => {
      stage = 'accepted';
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxResponseBytes) {
          const error = new DeliveryError('server_error', `The SIEM at ${address} sent an answer longer than ${options.maxResponseBytes} bytes, so it was not read.`);
          req.destroy(error);
          finish(error);
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('aborted', () => finish(new DeliveryError('connection_reset', `The connection to the SIEM at ${address} broke while its answer was arriving.`)));
      res.on('error', (error) => finish(networkError(error)));
    });
    req.once('socket', (socket) => {
      socket.once('secureConnect', () => {
        if (stage === 'handshake') stage = 'unconfirmed';
      });
    });
    req.on('error', (error) => {
      if (signal.aborted && error === abortReason(signal)) finish(error);
      else finish(networkError(error));
    });

    const timer = setTimeout(() => {
      const error = new DeliveryError('timeout', `The SIEM at ${address} did not answer within ${options.timeoutMs / 1000} s.`);
      req.destroy(error);
      finish(error);
    }, options.timeoutMs);
    const onAbort = (): void => {
      const reason = abortReason(signal);
      req.destroy(reason instanceof Error ? reason : undefined);
      finish(reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });

    req.end(payload);
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

// --- Small helpers the transports share -----------------------------------------------------------

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The items in order, in chunks of whole items for one request each: at most
 * maxBytes of `text(item)` in UTF-8 and at most maxItems items per chunk (an
 * item larger than maxBytes goes alone).
 */
export function chunkItems<T>(items: readonly T[], text: (item: T) => string, maxBytes: number, maxItems = Number.POSITIVE_INFINITY): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = Buffer.byteLength(text(item), 'utf8');
    if (current.length > 0 && (size + bytes > maxBytes || current.length >= maxItems)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Parses a JSON answer, or returns undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A short, printable excerpt of an answer for an error message. */
export function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
