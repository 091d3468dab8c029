// A HAND-WRITTEN FAKE of Elasticsearch's `_bulk` endpoint, for the integration
// tests of the HTTPS JSON transport: no real Elasticsearch can be installed in
// this environment. It follows Elastic's documented protocol, not our transport:
//   - Bulk API (NDJSON action/metadata line then source line, body ending with
//     a newline, Content-Type application/x-ndjson, the `create` action failing
//     for an _id that exists, the answer {"took","errors","items"} with one item
//     per action in request order, HTTP 200 even when items failed):
//     https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
//     https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-bulk.html
//   - the per-item conflict: status 409, error.type version_conflict_engine_exception,
//     "[<id>]: version conflict, document already exists (current version [1])";
//   - HTTP errors as Elastic writes them ({"error":{"root_cause":[…],"type","reason"},"status"}),
//     413 with an empty body over http.max_content_length (default 100mb),
//     406 for an unsupported Content-Type, 429 es_rejected_execution_exception.
// Not modelled: update/delete actions, routing, pipelines, refresh, mappings
// (every source that is a JSON object is accepted).
//
// It listens on 127.0.0.1 with mutual TLS (test/support/test-pki.ts), keeps the
// documents by index and _id, records every request, and has knobs for
// failure tests.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { MutualTlsHttpsServer, type MutualTlsServerOptions } from './test-pki.js';

export interface StoredDocument {
  index: string;
  id: string;
  source: Record<string, unknown>;
  seqNo: number;
}

export interface ReceivedBulkRequest {
  path: string;
  contentType: string | undefined;
  bytes: number;
  /** Action lines in the request (0 when refused before parsing). */
  actions: number;
  status: number;
  answer: string;
}

export interface ElasticBulkReceiverOptions extends MutualTlsServerOptions {
  /** http.max_content_length; default Elasticsearch's 100mb. */
  maxContentLength?: number;
}

type ErrorStatus = 401 | 429 | 500 | 503;

export class ElasticBulkReceiver {
  readonly maxContentLength: number;
  /** Documents by "<index>/<_id>". */
  readonly documents = new Map<string, StoredDocument>();
  /** Every request, in arrival order. */
  readonly requests: ReceivedBulkRequest[] = [];

  // --- Knobs for tests ---
  /** Answer the next `count` bulk requests with this HTTP error. */
  failNext: { status: ErrorStatus; count: number } | null = null;
  /** Cut the connection of this many of the next requests after their first bytes. */
  dropConnections = 0;
  /** Documents (by _id) refused with a per-item 400 document_parsing_exception. */
  readonly refuseIds = new Set<string>();
  /** Documents (by _id) turned away with a per-item 429 es_rejected_execution_exception. */
  readonly overloadIds = new Set<string>();

  readonly #server: MutualTlsHttpsServer;
  readonly #indexUuid = new Map<string, string>();
  #seqNo = 0;

  constructor(options: ElasticBulkReceiverOptions) {
    this.maxContentLength = options.maxContentLength ?? 100 * 1024 * 1024;
    this.#server = new MutualTlsHttpsServer(options, (req, res) => this.#handle(req, res));
  }

  static async start(options: ElasticBulkReceiverOptions): Promise<ElasticBulkReceiver> {
    const receiver = new ElasticBulkReceiver(options);
    await receiver.start();
    return receiver;
  }

  /** The bulk URL of an index, e.g. https://127.0.0.1:41234/enclave-audit/_bulk. */
  bulkUrl(index = 'enclave-audit'): string {
    return `${this.#server.origin}/${index}/_bulk`;
  }

  get port(): number {
    return this.#server.port;
  }

  start(): Promise<void> {
    return this.#server.start();
  }

  stop(): Promise<void> {
    return this.#server.stop();
  }

  /** The stored documents of an index, in the order they were created. */
  documentsOf(index = 'enclave-audit'): StoredDocument[] {
    return [...this.documents.values()].filter((d) => d.index === index).sort((a, b) => a.seqNo - b.seqNo);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://receiver');
    const record: ReceivedBulkRequest = { path: url.pathname, contentType: req.headers['content-type'], bytes: 0, actions: 0, status: 0, answer: '' };
    this.requests.push(record);
    const reply = (status: number, body: unknown): void => {
      const text = body === undefined ? '' : JSON.stringify(body);
      record.status = status;
      record.answer = text;
      res.writeHead(status, { 'Content-Type': 'application/json', 'X-elastic-product': 'Elasticsearch' });
      res.end(text);
    };
    const fail = (status: number, type: string, reason: string): void => reply(status, { error: { root_cause: [{ type, reason }], type, reason }, status });

    if (this.dropConnections > 0) {
      this.dropConnections--;
      req.once('data', () => req.socket.destroy());
      req.once('end', () => req.socket.destroy());
      return;
    }

    const match = /^\/(?:([^/_][^/]*)\/)?_bulk$/.exec(url.pathname);
    if (!match || (req.method !== 'POST' && req.method !== 'PUT')) {
      req.resume();
      return reply(400, { error: `no handler found for uri [${url.pathname}] and method [${req.method}]` });
    }
    const pathIndex = match[1] ? decodeURIComponent(match[1]) : null;

    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > this.maxContentLength) {
      req.resume();
      return reply(413, undefined);
    }
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType !== 'application/x-ndjson' && mediaType !== 'application/json') {
      req.resume();
      return reply(406, { error: `Content-Type header [${req.headers['content-type'] ?? ''}] is not supported`, status: 406 });
    }

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const started = Date.now();
      const body = Buffer.concat(chunks).toString('utf8');
      record.bytes = Buffer.byteLength(body);

      if (this.failNext && this.failNext.count > 0) {
        const { status } = this.failNext;
        if (--this.failNext.count === 0) this.failNext = null;
        if (status === 401) return fail(401, 'security_exception', `unable to authenticate user [ws-0001.enclave.test] for REST request [${url.pathname}]`);
        if (status === 429)
          return fail(
            429,
            'es_rejected_execution_exception',
            'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0]',
          );
        if (status === 503) return fail(503, 'cluster_block_exception', 'blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];');
        return fail(500, 'exception', 'simulated internal failure');
      }

      if (!body.endsWith('\n')) return fail(400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]');
      const lines = body.split('\n');
      lines.pop(); // after the final newline
      const items: Record<string, unknown>[] = [];
      let errors = false;
      for (let n = 0; n < lines.length; n++) {
        const line = lines[n]!;
        if (line.trim() === '') continue;
        let action: unknown;
        try {
          action = JSON.parse(line);
        } catch {
          return fail(400, 'x_content_parse_exception', `[1:1] Malformed action/metadata line [${n + 1}]`);
        }
        const keys = typeof action === 'object' && action !== null && !Array.isArray(action) ? Object.keys(action) : [];
        const name = keys[0];
        if (keys.length !== 1 || (name !== 'create' && name !== 'index')) {
          return fail(400, 'illegal_argument_exception', `Malformed action/metadata line [${n + 1}], expected one of [create, delete, index, update] but found [${name ?? ''}]`);
        }
        const meta = (action as Record<string, Record<string, unknown>>)[name]!;
        const index = typeof meta['_index'] === 'string' ? meta['_index'] : pathIndex;
        if (index === null) return fail(400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;');
        const id = typeof meta['_id'] === 'string' ? meta['_id'] : randomUUID();
        const sourceLine = lines[++n];
        record.actions++;
        if (sourceLine === undefined) return fail(400, 'illegal_argument_exception', `The bulk request must be terminated by a newline [\\n]`);
        const item = this.#apply(name, index, id, sourceLine);
        if ((item['status'] as number) >= 300) errors = true;
        items.push({ [name]: item });
      }
      if (items.length === 0) return fail(400, 'action_request_validation_exception', 'Validation Failed: 1: no requests added;');
      reply(200, { errors, took: Date.now() - started, items });
    });
  }

  /** One create/index action, with the item Elastic answers for it. */
  #apply(action: 'create' | 'index', index: string, id: string, sourceLine: string): Record<string, unknown> {
    const base = { _index: index, _id: id };
    const itemError = (status: number, type: string, reason: string) => ({ ...base, status, error: { type, reason, index_uuid: this.#uuid(index), shard: '0', index } });
    let source: unknown;
    try {
      source = JSON.parse(sourceLine);
    } catch {
      return itemError(400, 'document_parsing_exception', '[1:2] failed to parse');
    }
    if (typeof source !== 'object' || source === null || Array.isArray(source)) return itemError(400, 'document_parsing_exception', '[1:1] failed to parse: the document is not an object');
    if (this.refuseIds.has(id)) return itemError(400, 'document_parsing_exception', `[1:25] failed to parse field [event.id] of type [long] in document with id '${id}'`);
    if (this.overloadIds.has(id)) return itemError(429, 'es_rejected_execution_exception', 'rejected execution of primary operation');
    const key = `${index}/${id}`;
    const existing = this.documents.get(key);
    if (existing && action === 'create') {
      return itemError(409, 'version_conflict_engine_exception', `[${id}]: version conflict, document already exists (current version [1])`);
    }
    const seqNo = this.#seqNo++;
    this.documents.set(key, { index, id, source: source as Record<string, unknown>, seqNo: existing?.seqNo ?? seqNo });
    return {
      ...base,
      _version: existing ? 2 : 1,
      result: existing ? 'updated' : 'created',
      _shards: { total: 2, successful: 1, failed: 0 },
      _seq_no: seqNo,
      _primary_term: 1,
      status: existing ? 200 : 201,
    };
  }

  #uuid(index: string): string {
    let uuid = this.#indexUuid.get(index);
    if (!uuid) this.#indexUuid.set(index, (uuid = randomUUID().replace(/-/g, '').slice(0, 22)));
    return uuid;
  }
}
