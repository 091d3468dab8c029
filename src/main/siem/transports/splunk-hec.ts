// Splunk HTTP Event Collector, following Splunk's documented protocol:
//   - POST <base>/services/collector/event, header `Authorization: Splunk <token>`,
//     events stacked `{…}{…}` (formats/hec.ts); answer `{"text":"Success","code":0}`.
//     https://help.splunk.com/splunk-enterprise/get-data-in/collect-http-event-data/format-events-for-http-event-collector
//   - Error answers carry a status `code` (Troubleshoot HTTP Event Collector,
//     "Possible error codes"): 1 token disabled (403), 2 token is required (401),
//     3 invalid authorization (401), 4 invalid token (403), 5 no data (400),
//     6 invalid data format (400), 7 incorrect index (400), 8 internal server
//     error (500), 9 server is busy (503), 10 data channel is missing (400),
//     11 invalid data channel (400), 12 event field is required (400), 13 event
//     field cannot be blank (400), 14 ACK is disabled (400), 15 error in handling
//     indexed fields (400), 16 query string authorization is not enabled.
//   - Indexer acknowledgement (About HTTP Event Collector Indexer Acknowledgment,
//     https://docs.splunk.com/Documentation/Splunk/latest/Data/AboutHECIDXAck):
//     every request names a channel GUID (header X-Splunk-Request-Channel); each
//     answer carries an `ackId`, counted from 0 per channel; the client polls
//     POST <base>/services/collector/ack?channel=<GUID> with `{"acks":[ids]}` and
//     gets `{"acks":{"<id>":true|false}}`. Splunk forgets an id once it answered
//     true for it, so an id is polled until its first true and then no more.
//     Behind a load balancer the polls must reach the indexer that took the
//     data; Splunk relies on sticky sessions for that, so cookies the receiver
//     sets during a send are returned on the rest of that send.
//   - Request size: Splunk Enterprise's default [http_input] max_content_length
//     is 800 MB, Splunk Cloud Platform documents 1 MB, and older Enterprise
//     releases had 1,000,000 bytes; a batch is split into POSTs of at most
//     ~800 KB (whole events only), and a 413 splits further.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { hecBody, renderHecBatch, type HecItem } from '../formats/hec.js';
import { readHecToken } from '../hec-token.js';
import { loadTlsMaterial, type TlsMaterial } from './tls.js';
import { DeliveryError, type OutgoingBatch, type RenderContext, type SiemDestination, type Transport } from '../types.js';
import { chunkItems, excerpt, httpsPost, parseJson, sleep, type HttpsResponse } from './http.js';

export type SplunkHecDestination = Extract<SiemDestination, { type: 'splunk-hec' }>;

export interface SplunkHecOptions {
  /**
   * This workstation's data channel for this destination, a GUID the outbox
   * keeps (newHecChannel() makes one). Required with indexer acknowledgement,
   * because ackIds are counted per channel.
   */
  channel?: string;
  /** Largest POST body; default 800,000 bytes (under Splunk Cloud's 1 MB). */
  maxRequestBytes?: number;
  /** Limit for each HTTP exchange; default 30 s. */
  requestTimeoutMs?: number;
  /** How long to wait for Splunk to confirm indexing before giving up with ack_pending; default 180 s. */
  ackTimeoutMs?: number;
  /** First wait before an acknowledgement poll, doubled after each poll up to ackPollMaxMs; defaults 500 ms and 10 s. */
  ackPollInitialMs?: number;
  ackPollMaxMs?: number;
}

export const HEC_DEFAULT_MAX_REQUEST_BYTES = 800_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_ACK_TIMEOUT_MS = 180_000;
const MAX_ANSWER_BYTES = 64 * 1024;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A new data channel for a destination with indexer acknowledgement. */
export function newHecChannel(): string {
  return randomUUID();
}

/**
 * The event and ack URLs for a destination's url: the HEC base (https://splunk:8088),
 * or a url already ending in /services/collector, /services/collector/event or
 * /services/collector/event/1.0. A path before /services (a reverse proxy's prefix) is kept.
 */
export function hecEndpoints(url: string): { event: URL; ack: URL } {
  const base = new URL(url);
  const prefix = base.pathname.replace(/\/+$/, '').replace(/\/services\/collector(\/event(\/1\.0)?)?$/, '');
  const event = new URL(base.origin);
  event.pathname = `${prefix}/services/collector/event`;
  const ack = new URL(base.origin);
  ack.pathname = `${prefix}/services/collector/ack`;
  return { event, ack };
}

/** What HEC answers on /event (and on errors from /ack). */
const HecAnswer = z.looseObject({
  text: z.string().optional(),
  code: z.number().int().optional(),
  ackId: z.number().int().nonnegative().optional(),
  'invalid-event-number': z.number().int().optional(),
});
type HecAnswer = z.infer<typeof HecAnswer>;

/** What HEC answers on /ack. */
const AckAnswer = z.object({ acks: z.record(z.string(), z.boolean()) });

const ACK_OFF_ON_SERVER =
  'Indexer acknowledgement is off for this HEC token on the Splunk side, but the destination asks for it. Turn on indexer acknowledgement for the token in Splunk, or set indexerAcknowledgement to false for this destination.';

export function createSplunkHecTransport(destination: SplunkHecDestination, ctx: RenderContext, options: SplunkHecOptions = {}): Transport {
  const useAck = destination.indexerAcknowledgement;
  const channel = options.channel;
  if (useAck && (channel === undefined || !GUID.test(channel))) {
    throw new Error(`Splunk HEC destination "${destination.id}" uses indexer acknowledgement and needs a channel GUID from the outbox.`);
  }
  const endpoints = hecEndpoints(destination.url);
  const ackUrl = new URL(endpoints.ack);
  if (useAck) ackUrl.searchParams.set('channel', channel!);
  const maxRequestBytes = options.maxRequestBytes ?? HEC_DEFAULT_MAX_REQUEST_BYTES;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  const ackPollInitialMs = options.ackPollInitialMs ?? 500;
  const ackPollMaxMs = options.ackPollMaxMs ?? 10_000;
  const receiver = `Splunk at ${endpoints.event.host}`;
  // close() aborts whatever is in flight.
  const closing = new AbortController();

  // Authorization is added per send: the token may come from a file read at each send (hec-token.ts).
  const baseHeaders: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': `Enclave/${ctx.productVersion}`,
    ...(useAck ? { 'X-Splunk-Request-Channel': channel! } : {}),
  };

  /** One POST within a send, carrying the send's cookies (load-balancer stickiness for ack polls). */
  async function post(url: URL, body: string, tls: TlsMaterial, authorization: string, cookies: CookieJar, signal: AbortSignal): Promise<HttpsResponse> {
    const cookie = cookies.header();
    const response = await httpsPost(url, body, tls, {
      headers: { ...baseHeaders, Authorization: authorization, ...(cookie ? { Cookie: cookie } : {}) },
      signal,
      timeoutMs: requestTimeoutMs,
      maxResponseBytes: MAX_ANSWER_BYTES,
    });
    cookies.take(response.headers);
    return response;
  }

  /** Posts the items, splitting on 413; returns the ackIds (empty without acknowledgement). */
  async function postEvents(items: HecItem[], tls: TlsMaterial, authorization: string, cookies: CookieJar, signal: AbortSignal): Promise<number[]> {
    const ackIds: number[] = [];
    const queue = chunkItems(items, (item) => item.json, maxRequestBytes);
    for (let chunk = queue.shift(); chunk; chunk = queue.shift()) {
      const response = await post(endpoints.event, hecBody(chunk), tls, authorization, cookies, signal);
      if (response.status === 413 && chunk.length > 1) {
        const half = Math.ceil(chunk.length / 2);
        queue.unshift(chunk.slice(0, half), chunk.slice(half));
        continue;
      }
      const answer = HecAnswer.safeParse(parseJson(response.body));
      if (response.status !== 200 || !answer.success || answer.data.code !== 0) {
        throw hecError(response, answer.success ? answer.data : undefined, receiver);
      }
      if (useAck) {
        if (answer.data.ackId === undefined) throw new DeliveryError('rejected', ACK_OFF_ON_SERVER);
        ackIds.push(answer.data.ackId);
      }
    }
    return ackIds;
  }

  /** Polls /ack with back-off until every id was true once, or the time is up. */
  async function awaitAcks(ackIds: number[], tls: TlsMaterial, authorization: string, cookies: CookieJar, signal: AbortSignal): Promise<void> {
    const pending = new Set(ackIds);
    const deadline = Date.now() + ackTimeoutMs;
    let wait = ackPollInitialMs;
    while (pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new DeliveryError(
          'ack_pending',
          `${receiver} took the batch but has not confirmed indexing ${pending.size} of its ${ackIds.length} request(s) within ${ackTimeoutMs / 1000} s (indexer acknowledgement). The batch will be sent again.`,
        );
      }
      await sleep(Math.min(wait, left), signal);
      wait = Math.min(wait * 2, ackPollMaxMs);
      const response = await post(ackUrl, JSON.stringify({ acks: [...pending] }), tls, authorization, cookies, signal);
      const answer = AckAnswer.safeParse(parseJson(response.body));
      if (response.status === 200 && answer.success) {
        for (const [id, indexed] of Object.entries(answer.data.acks)) if (indexed) pending.delete(Number(id));
        continue;
      }
      const parsed = HecAnswer.safeParse(parseJson(response.body));
      const error = hecError(response, parsed.success ? parsed.data : undefined, receiver);
      // Busy now says nothing about the data already taken: keep polling until the deadline.
      if (error.code !== 'server_busy') throw error;
    }
  }

  return {
    async send(batch: OutgoingBatch, signal: AbortSignal): Promise<void> {
      if (closing.signal.aborted) throw new Error(`The Splunk HEC transport for "${destination.id}" is closed.`);
      const combined = AbortSignal.any([signal, closing.signal]);
      const authorization = `Splunk ${await readHecToken(destination)}`;
      const tls = await loadTlsMaterial(destination);
      const cookies = new CookieJar();
      const ackIds = await postEvents(renderHecBatch(batch), tls, authorization, cookies, combined);
      if (useAck) await awaitAcks(ackIds, tls, authorization, cookies, combined);
    },
    async close(): Promise<void> {
      closing.abort(new Error(`The Splunk HEC transport for "${destination.id}" was closed.`));
    },
  };
}

/** Maps a HEC error answer (documented status and code) to a DeliveryError. Exported for tests. */
export function hecError(response: HttpsResponse, answer: HecAnswer | undefined, receiver: string): DeliveryError {
  const { status } = response;
  const code = answer?.code;
  const said = answer?.text !== undefined ? `"${answer.text}"${code !== undefined ? `, code ${code}` : ''}` : `HTTP ${status}${response.body ? `: ${excerpt(response.body)}` : ''}`;
  const retryAfter = typeof response.headers['retry-after'] === 'string' ? ` It asked to wait ${response.headers['retry-after']} s.` : '';
  const event = answer?.['invalid-event-number'];
  const where = event !== undefined ? ` (object ${event} of the request)` : '';
  switch (code) {
    case 1:
      return new DeliveryError('token_refused', `${receiver} refused the HEC token: it is disabled (${said}). Enable the token in Splunk or give the destination an enabled one.`);
    case 2:
    case 3:
    case 16:
      return new DeliveryError('token_refused', `${receiver} did not accept our HEC authorization (${said}). Check the destination's token.`);
    case 4:
      return new DeliveryError('token_refused', `${receiver} does not know the destination's HEC token (${said}). Check the token.`);
    case 7:
      return new DeliveryError('rejected', `${receiver} refused the data (${said}): the HEC token may not write to its index. Check the token's allowed indexes.`);
    case 9:
      return new DeliveryError('server_busy', `${receiver} is busy (${said}) and asked us to come back later.${retryAfter}`);
    case 10:
      return new DeliveryError(
        'rejected',
        `${receiver} requires a data channel (${said}): indexer acknowledgement is on for this HEC token. Set indexerAcknowledgement to true for this destination, or turn acknowledgement off for the token.`,
      );
    case 11:
      return new DeliveryError('rejected', `${receiver} refused our data channel (${said}).`);
    case 14:
      return new DeliveryError('rejected', `${ACK_OFF_ON_SERVER} (Splunk said ${said}.)`);
    case 5:
    case 6:
    case 12:
    case 13:
    case 15:
      return new DeliveryError('rejected', `${receiver} refused the data${where} (${said}).`);
    case 8:
      return new DeliveryError('server_error', `${receiver} had an internal error (${said}).`);
    default:
      break;
  }
  if (status === 401 || status === 403) return new DeliveryError('token_refused', `${receiver} refused the HEC token (${said}). Check the destination's token.`);
  if (status === 429 || status === 503) return new DeliveryError('server_busy', `${receiver} is busy (${said}) and asked us to come back later.${retryAfter}`);
  if (status === 413) return new DeliveryError('rejected', `${receiver} refused a single audit record as too large (HTTP 413). Raise max_content_length for HEC in Splunk.`);
  if (status === 404) return new DeliveryError('rejected', `${receiver} has no HTTP Event Collector at the destination's url (HTTP 404). Check it (e.g. https://splunk.example.org:8088).`);
  if (status >= 300 && status < 400) return new DeliveryError('rejected', `${receiver} redirected the request (HTTP ${status}); redirects are not followed. Put the final URL in the destination.`);
  if (status >= 500) return new DeliveryError('server_error', `${receiver} failed (${said}).`);
  if (status === 200) return new DeliveryError('server_error', `${receiver} answered HTTP 200 but not as an HTTP Event Collector (${said}), so delivery cannot be confirmed.`);
  return new DeliveryError('rejected', `${receiver} refused the request (${said}).`);
}

/** The cookies a receiver set during one send, returned on the rest of it (sticky sessions for ack polls). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  take(headers: IncomingHttpHeaders): void {
    for (const line of headers['set-cookie'] ?? []) {
      const pair = line.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq > 0) this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }

  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}
