// HTTPS JSON: ECS documents POSTed in Elastic's `_bulk` format (formats/ecs.ts)
// to the destination's url, e.g. https://es.example.org:9200/enclave-audit/_bulk,
// with mutual TLS. Follows the documented bulk protocol
// (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk):
//   - Content-Type application/x-ndjson, the body ending with a newline;
//   - the answer `{"took":…,"errors":false|true,"items":[{"create":{"_id":…,"status":…,"error":{…}}}…]}`,
//     one item per action, in request order; HTTP 200 even when items failed;
//   - `create` with _id = event.id, so a resend is idempotent: an _id Elastic
//     already holds comes back as 409 version_conflict_engine_exception, which
//     means "already delivered" and confirms like a 201;
//   - 413 when the body exceeds http.max_content_length: the request is split
//     and retried within the same send; 429 (and a 429 item,
//     es_rejected_execution_exception) means back off.
// Only an answer in that format confirms a batch: a 200 from a proxy's page or
// a collector that says nothing about the items is not proof of delivery.
import { z } from 'zod';
import { bulkBody, renderBulkBatch, type BulkItem } from '../formats/ecs.js';
import { loadTlsMaterial } from './tls.js';
import { DeliveryError, type OutgoingBatch, type RenderContext, type SiemDestination, type Transport } from '../types.js';
import { chunkItems, excerpt, httpsPost, parseJson, type HttpsResponse } from './http.js';

export type HttpsJsonDestination = Extract<SiemDestination, { type: 'https-json' }>;

export interface HttpsJsonOptions {
  /** Largest request body; default 5 MB (Elastic suggests bulk requests of a few MB). */
  maxRequestBytes?: number;
  /** Most documents per request, which also bounds the size of the answer; default 1,000. */
  maxItemsPerRequest?: number;
  /** Limit for each HTTP exchange; default 60 s. */
  requestTimeoutMs?: number;
}

const DEFAULT_MAX_REQUEST_BYTES = 5_000_000;
const DEFAULT_MAX_ITEMS = 1_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** A bulk answer is a few hundred bytes per item. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const ItemError = z.looseObject({ type: z.string(), reason: z.string().nullish() });
const ItemResult = z.looseObject({ _id: z.string().optional(), status: z.number().int(), error: ItemError.optional() });
const BulkAnswer = z.looseObject({
  errors: z.boolean(),
  // Each item is keyed by its action: {"create": {...}}.
  items: z.array(z.record(z.string(), ItemResult)),
});
/** Elastic's error answer: {"error":{"type","reason",…},"status":…} or {"error":"text","status":…}. */
const ErrorAnswer = z.looseObject({ error: z.union([z.string(), ItemError]) });

export function createHttpsJsonTransport(destination: HttpsJsonDestination, ctx: RenderContext, options: HttpsJsonOptions = {}): Transport {
  const url = new URL(destination.url);
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const maxItems = options.maxItemsPerRequest ?? DEFAULT_MAX_ITEMS;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const receiver = `The collector at ${url.host}`;
  const headers = { 'Content-Type': 'application/x-ndjson', Accept: 'application/json', 'User-Agent': `Enclave/${ctx.productVersion}` };
  const closing = new AbortController();

  return {
    async send(batch: OutgoingBatch, signal: AbortSignal): Promise<void> {
      if (closing.signal.aborted) throw new Error(`The HTTPS JSON transport for "${destination.id}" is closed.`);
      const combined = AbortSignal.any([signal, closing.signal]);
      const tls = await loadTlsMaterial(destination);
      const queue = chunkItems(renderBulkBatch(batch), (item) => item.lines, maxRequestBytes, maxItems);
      for (let chunk = queue.shift(); chunk; chunk = queue.shift()) {
        const response = await httpsPost(url, bulkBody(chunk), tls, { headers, signal: combined, timeoutMs: requestTimeoutMs, maxResponseBytes: MAX_ANSWER_BYTES });
        if (response.status === 413) {
          if (chunk.length === 1) {
            throw new DeliveryError('rejected', `${receiver} refused a single audit document (${chunk[0]!.id}) as too large (HTTP 413). Raise its http.max_content_length.`);
          }
          const half = Math.ceil(chunk.length / 2);
          queue.unshift(chunk.slice(0, half), chunk.slice(half));
          continue;
        }
        confirmBulk(response, chunk, receiver);
      }
    },
    async close(): Promise<void> {
      closing.abort(new Error(`The HTTPS JSON transport for "${destination.id}" was closed.`));
    },
  };
}

/**
 * Resolves when the answer confirms every item of the request, else throws.
 * Exported for tests.
 */
export function confirmBulk(response: HttpsResponse, sent: readonly BulkItem[], receiver: string): void {
  const { status } = response;
  if (status !== 200) throw bulkHttpError(response, receiver);
  const answer = BulkAnswer.safeParse(parseJson(response.body));
  if (!answer.success) {
    throw new DeliveryError('server_error', `${receiver} answered HTTP 200 but not with an Elastic _bulk answer (${excerpt(response.body) || 'empty'}), so delivery cannot be confirmed.`);
  }
  const { items } = answer.data;
  if (items.length !== sent.length) {
    throw new DeliveryError('server_error', `${receiver} answered for ${items.length} of the ${sent.length} documents sent, so delivery cannot be confirmed.`);
  }
  let retryable: DeliveryError | undefined;
  let failed: DeliveryError | undefined;
  for (const [i, item] of items.entries()) {
    const result = Object.values(item)[0];
    const id = sent[i]!.id;
    if (!result || (result._id !== undefined && result._id !== id)) {
      throw new DeliveryError('server_error', `${receiver} answered out of order (item ${i} is not document ${id}), so delivery cannot be confirmed.`);
    }
    // 201 created (200 for index actions), or 409: already there from an earlier send.
    if (result.status === 200 || result.status === 201 || result.status === 409) continue;
    const what = result.error ? `${result.error.type}: ${result.error.reason ?? ''}`.replace(/: $/, '') : `status ${result.status}`;
    if (result.status === 429) {
      retryable ??= new DeliveryError('server_busy', `${receiver} is overloaded and turned document ${id} away (${what}); it will be sent again.`);
    } else if (result.status >= 500) {
      retryable ??= new DeliveryError('server_error', `${receiver} failed to store document ${id} (${what}).`);
    } else {
      // The first refusal that retrying will not cure is what IT must see.
      failed = new DeliveryError('rejected', `${receiver} refused document ${id} (${what}).`);
      break;
    }
  }
  if (failed) throw failed;
  if (retryable) throw retryable;
}

function bulkHttpError(response: HttpsResponse, receiver: string): DeliveryError {
  const { status } = response;
  const parsed = ErrorAnswer.safeParse(parseJson(response.body));
  const said = parsed.success
    ? typeof parsed.data.error === 'string'
      ? parsed.data.error
      : `${parsed.data.error.type}: ${parsed.data.error.reason ?? ''}`.replace(/: $/, '')
    : response.body
      ? excerpt(response.body)
      : 'no details';
  const retryAfter = typeof response.headers['retry-after'] === 'string' ? ` It asked to wait ${response.headers['retry-after']} s.` : '';
  if (status === 401 || status === 403) {
    return new DeliveryError(
      'rejected',
      `${receiver} refused our credentials (HTTP ${status}: ${said}). It must accept this workstation's client certificate (clientCertFile) as a user allowed to write to the index.`,
    );
  }
  if (status === 429 || status === 503) return new DeliveryError('server_busy', `${receiver} is busy (HTTP ${status}: ${said}) and asked us to come back later.${retryAfter}`);
  if (status >= 500) return new DeliveryError('server_error', `${receiver} failed (HTTP ${status}: ${said}).`);
  if (status >= 300 && status < 400) return new DeliveryError('rejected', `${receiver} redirected the request (HTTP ${status}); redirects are not followed. Put the final URL in the destination.`);
  if (status === 404) return new DeliveryError('rejected', `${receiver} has nothing at the destination's url (HTTP 404: ${said}). It should end in /<index>/_bulk.`);
  return new DeliveryError('rejected', `${receiver} refused the request (HTTP ${status}: ${said}).`);
}
