// A HAND-WRITTEN FAKE of Splunk's HTTP Event Collector, for the integration
// tests of the Splunk HEC transport: no real Splunk can be installed in this
// environment. It follows Splunk's documented protocol, not our transport:
//   - Format events for HTTP Event Collector (token header, event envelope,
//     stacked JSON objects):
//     https://help.splunk.com/splunk-enterprise/get-data-in/collect-http-event-data/format-events-for-http-event-collector
//   - HTTP Event Collector REST API endpoints (/services/collector,
//     /services/collector/event, /services/collector/event/1.0,
//     /services/collector/ack, /services/collector/health):
//     https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/http-event-collector-rest-api-endpoints
//   - Troubleshoot HTTP Event Collector, "Possible error codes" (status code,
//     HTTP status and text of every error answer):
//     https://docs.splunk.com/Documentation/Splunk/latest/Data/TroubleshootHTTPEventCollector
//   - About HTTP Event Collector Indexer Acknowledgment (channels, ackIds
//     counted from 0 per channel, the ack endpoint, ids forgotten once they
//     were answered true):
//     https://docs.splunk.com/Documentation/Splunk/latest/Data/AboutHECIDXAck
// Where the documents are silent it does what Splunk Enterprise was observed to
// do: objects before a bad one in a request are indexed, the bad one and the
// rest are not, and the answer names the bad one in "invalid-event-number";
// a body over max_content_length is refused whole with HTTP 413.
// Not modelled: /raw, Basic and query-string token authentication, index
// routing, gzip bodies.
//
// It listens on 127.0.0.1 with mutual TLS (test/support/test-pki.ts), records
// everything it receives for assertions, and has knobs for failure tests.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { MutualTlsHttpsServer, type MutualTlsServerOptions } from './test-pki.js';

/** One indexed HEC event, as the receiver stored it. */
export interface ReceivedHecEvent {
  /** The envelope object as sent: time, host, source, sourcetype, event, fields. */
  object: Record<string, unknown>;
  channel: string | null;
  /** The ackId of the request that carried it (null without acknowledgement). */
  ackId: number | null;
  /** Index into `requests` of the request that carried it. */
  request: number;
}

export interface ReceivedHecRequest {
  method: string;
  path: string;
  channel: string | null;
  authorization: string | undefined;
  cookie: string | undefined;
  bytes: number;
  /** What was answered; 0 when the connection was dropped or the request left unanswered. */
  status: number;
  answer: string;
}

export interface AckPoll {
  channel: string;
  asked: number[];
  answer: Record<string, boolean>;
}

export interface HecReceiverOptions extends MutualTlsServerOptions {
  /** The token that is valid (default: a fresh GUID). */
  token?: string;
  /** Whether the token has indexer acknowledgement (useACK) on. */
  ackEnabled?: boolean;
  /** [http_input] max_content_length; default 1,000,000 bytes (Splunk Cloud Platform's 1 MB). */
  maxContentLength?: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT_PATHS = new Set(['/services/collector', '/services/collector/event', '/services/collector/event/1.0']);

/** The documented answers, by HEC status code. */
const ANSWERS = {
  success: { status: 200, text: 'Success', code: 0 },
  tokenDisabled: { status: 403, text: 'Token disabled', code: 1 },
  tokenRequired: { status: 401, text: 'Token is required', code: 2 },
  invalidAuthorization: { status: 401, text: 'Invalid authorization', code: 3 },
  invalidToken: { status: 403, text: 'Invalid token', code: 4 },
  noData: { status: 400, text: 'No data', code: 5 },
  invalidDataFormat: { status: 400, text: 'Invalid data format', code: 6 },
  serverBusy: { status: 503, text: 'Server is busy', code: 9 },
  channelMissing: { status: 400, text: 'Data channel is missing', code: 10 },
  invalidChannel: { status: 400, text: 'Invalid data channel', code: 11 },
  eventRequired: { status: 400, text: 'Event field is required', code: 12 },
  eventBlank: { status: 400, text: 'Event field cannot be blank', code: 13 },
  ackDisabled: { status: 400, text: 'ACK is disabled', code: 14 },
  indexedFields: { status: 400, text: 'Error in handling indexed fields', code: 15 },
  healthy: { status: 200, text: 'HEC is healthy', code: 17 },
} as const;
type Answer = (typeof ANSWERS)[keyof typeof ANSWERS];

export class HecReceiver {
  readonly token: string;
  readonly maxContentLength: number;
  /** Every request, answered or not, in arrival order. */
  readonly requests: ReceivedHecRequest[] = [];
  /** Every indexed event, in the order indexed. */
  readonly events: ReceivedHecEvent[] = [];
  readonly ackPolls: AckPoll[] = [];

  // --- Knobs for tests (change them at any time) ---
  /** The token's useACK. */
  ackEnabled: boolean;
  /** The token is disabled (403, code 1). */
  tokenDisabled = false;
  /** An ackId turns true only on the poll after it was asked for this many times. */
  ackDelayPolls = 0;
  /** No ackId ever turns true (indexers down). */
  ackNever = false;
  /** Answer this many of the next event requests with 503 "Server is busy" (code 9). */
  busyResponses = 0;
  /** Cut the connection of this many of the next event requests after their first bytes of body. */
  dropConnections = 0;
  /** Leave this many of the next event requests unanswered (the connection stays open). */
  stallRequests = 0;
  /** A Set-Cookie this receiver sends on every answer (a load balancer's stickiness cookie). */
  stickyCookie: string | null = null;

  readonly #server: MutualTlsHttpsServer;
  readonly #nextAckId = new Map<string, number>();
  /** Per channel: ackIds not yet answered true, and how often each was asked for. */
  readonly #pendingAcks = new Map<string, Map<number, number>>();

  constructor(options: HecReceiverOptions) {
    this.token = options.token ?? randomUUID();
    this.ackEnabled = options.ackEnabled ?? false;
    this.maxContentLength = options.maxContentLength ?? 1_000_000;
    this.#server = new MutualTlsHttpsServer(options, (req, res) => this.#handle(req, res));
  }

  static async start(options: HecReceiverOptions): Promise<HecReceiver> {
    const receiver = new HecReceiver(options);
    await receiver.start();
    return receiver;
  }

  /** The HEC base URL, e.g. https://127.0.0.1:41234 (what IT puts in the destination). */
  get url(): string {
    return this.#server.origin;
  }

  get port(): number {
    return this.#server.port;
  }

  /** Listens; after stop(), on the same port. What was received is kept. */
  start(): Promise<void> {
    return this.#server.start();
  }

  /** Stops listening and cuts every connection ("Splunk restarts"). */
  stop(): Promise<void> {
    return this.#server.stop();
  }

  /** The events of one sourcetype, in the order indexed. */
  eventsOf(sourcetype: string): ReceivedHecEvent[] {
    return this.events.filter((e) => e.object['sourcetype'] === sourcetype);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://receiver');
    const headerChannel = req.headers['x-splunk-request-channel'];
    const channel = (typeof headerChannel === 'string' ? headerChannel : null) ?? url.searchParams.get('channel');
    const record: ReceivedHecRequest = {
      method: req.method ?? '',
      path: url.pathname,
      channel,
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
      bytes: 0,
      status: 0,
      answer: '',
    };
    const requestIndex = this.requests.push(record) - 1;
    const isEvent = EVENT_PATHS.has(url.pathname);
    const reply = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      record.status = status;
      record.answer = text;
      const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=UTF-8' };
      if (this.stickyCookie) headers['Set-Cookie'] = this.stickyCookie;
      res.writeHead(status, headers);
      res.end(text);
    };
    const answer = (a: Answer, extra: Record<string, unknown> = {}): void => reply(a.status, { text: a.text, code: a.code, ...extra });

    if (isEvent && req.method === 'POST' && this.dropConnections > 0) {
      this.dropConnections--;
      req.once('data', () => req.socket.destroy());
      req.once('end', () => req.socket.destroy());
      return;
    }
    if (isEvent && req.method === 'POST' && this.stallRequests > 0) {
      this.stallRequests--;
      req.resume();
      return;
    }

    // Content-Length is checked before the body is read, as Splunk does.
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > this.maxContentLength) {
      req.resume();
      reply(413, { text: `Content-Length of ${declared} too large (maximum is ${this.maxContentLength})` });
      return;
    }

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      record.bytes = Buffer.byteLength(body);

      if (url.pathname === '/services/collector/health' || url.pathname === '/services/collector/health/1.0') {
        if (req.method !== 'GET') return reply(405, { text: 'The requested URL was not found on this server.', code: 404 });
        return answer(ANSWERS.healthy);
      }
      const isAck = url.pathname === '/services/collector/ack';
      if (!isEvent && !isAck) return reply(404, { text: 'The requested URL was not found on this server.', code: 404 });
      if (req.method !== 'POST') return reply(405, { text: 'The requested URL was not found on this server.', code: 404 });

      if (isEvent && this.busyResponses > 0) {
        this.busyResponses--;
        return answer(ANSWERS.serverBusy);
      }
      const authError = this.#checkToken(req.headers.authorization);
      if (authError) return answer(authError);

      if (isAck) return this.#ack(channel, body, reply, answer);

      if (channel === null) {
        if (this.ackEnabled) return answer(ANSWERS.channelMissing);
      } else if (!GUID.test(channel)) {
        return answer(ANSWERS.invalidChannel);
      }
      if (body.trim() === '') return answer(ANSWERS.noData);

      const parsed = parseStackedObjects(body);
      const accepted: Record<string, unknown>[] = [];
      let failure: { answer: Answer; index: number } | null = parsed.error === null ? null : { answer: ANSWERS.invalidDataFormat, index: parsed.objects.length };
      for (const [index, object] of parsed.objects.entries()) {
        const problem = checkEnvelope(object);
        if (problem) {
          failure = { answer: problem, index };
          break;
        }
        accepted.push(object);
      }
      // Objects before a bad one are indexed, as Splunk does.
      const ackId = failure === null && this.ackEnabled && channel !== null ? this.#issueAck(channel) : null;
      for (const object of accepted) this.events.push({ object, channel, ackId, request: requestIndex });
      if (failure) return answer(failure.answer, { 'invalid-event-number': failure.index });
      return answer(ANSWERS.success, ackId === null ? {} : { ackId });
    });
  }

  #checkToken(authorization: string | undefined): Answer | null {
    if (authorization === undefined) return ANSWERS.tokenRequired;
    const match = /^Splunk (\S+)$/.exec(authorization);
    if (!match) return ANSWERS.invalidAuthorization;
    if (match[1] !== this.token) return ANSWERS.invalidToken;
    if (this.tokenDisabled) return ANSWERS.tokenDisabled;
    return null;
  }

  #issueAck(channel: string): number {
    const id = this.#nextAckId.get(channel) ?? 0;
    this.#nextAckId.set(channel, id + 1);
    let pending = this.#pendingAcks.get(channel);
    if (!pending) this.#pendingAcks.set(channel, (pending = new Map()));
    pending.set(id, 0);
    return id;
  }

  #ack(channel: string | null, body: string, reply: (status: number, body: unknown) => void, answer: (a: Answer) => void): void {
    if (!this.ackEnabled) return answer(ANSWERS.ackDisabled);
    if (channel === null) return answer(ANSWERS.channelMissing);
    if (!GUID.test(channel)) return answer(ANSWERS.invalidChannel);
    let asked: number[];
    try {
      const request = JSON.parse(body) as { acks?: unknown };
      if (!Array.isArray(request.acks) || !request.acks.every((id) => Number.isInteger(id) && (id as number) >= 0)) throw new Error('bad acks');
      asked = request.acks as number[];
    } catch {
      return answer(ANSWERS.invalidDataFormat);
    }
    const pending = this.#pendingAcks.get(channel) ?? new Map<number, number>();
    const result: Record<string, boolean> = {};
    for (const id of asked) {
      const times = pending.get(id);
      if (times === undefined || this.ackNever) {
        result[String(id)] = false;
        if (times !== undefined) pending.set(id, times + 1);
        continue;
      }
      if (times >= this.ackDelayPolls) {
        result[String(id)] = true;
        // Splunk forgets an id once it answered true for it.
        pending.delete(id);
      } else {
        result[String(id)] = false;
        pending.set(id, times + 1);
      }
    }
    this.ackPolls.push({ channel, asked, answer: result });
    reply(200, { acks: result });
  }
}

/** The first problem Splunk reports for one event object, or null. */
function checkEnvelope(object: Record<string, unknown>): Answer | null {
  if (!('event' in object)) return ANSWERS.eventRequired;
  const event = object['event'];
  if (typeof event === 'string' && event.trim() === '') return ANSWERS.eventBlank;
  if (event === null || event === false) return ANSWERS.invalidDataFormat;
  const fields = object['fields'];
  if (fields !== undefined) {
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return ANSWERS.indexedFields;
    for (const value of Object.values(fields)) {
      const flat = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
      if (!(flat(value) || (Array.isArray(value) && value.every(flat)))) return ANSWERS.indexedFields;
    }
  }
  return null;
}

/**
 * Splits a body of JSON objects written one after another ("{…}{…}", any
 * whitespace between them) into the objects. Stops at the first thing that is
 * not a JSON object.
 */
export function parseStackedObjects(body: string): { objects: Record<string, unknown>[]; error: string | null } {
  const objects: Record<string, unknown>[] = [];
  let i = 0;
  for (;;) {
    while (i < body.length && /\s/.test(body[i]!)) i++;
    if (i >= body.length) return { objects, error: null };
    if (body[i] !== '{') return { objects, error: `expected "{" at offset ${i}` };
    let depth = 0;
    let inString = false;
    let end = -1;
    for (let j = i; j < body.length; j++) {
      const c = body[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          end = j + 1;
          break;
        }
      }
    }
    if (end < 0) return { objects, error: `unterminated object at offset ${i}` };
    try {
      const value = JSON.parse(body.slice(i, end)) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { objects, error: `not an object at offset ${i}` };
      objects.push(value as Record<string, unknown>);
    } catch (error) {
      return { objects, error: (error as Error).message };
    }
    i = end;
  }
}
