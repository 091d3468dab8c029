// Syslog over TLS (RFC 5425) to one SIEM destination.
//
// One TLS connection per batch: connect (TLS 1.2 or later, the receiver's
// certificate checked against the destination's caFile or this computer's
// trust store, our client certificate when policy names one), write every
// message octet-counted (`MSG-LEN SP SYSLOG-MSG`, MSG-LEN in bytes), then close
// our side. Syslog has no receipt, so the design counts a batch as delivered
// when the connection closed cleanly after it was written: the receiver's own
// close arrives after ours, with no error and nothing of ours left unsent. A
// receiver that closes or resets the connection any earlier fails the batch,
// and the outbox sends the whole batch again (the SIEM recognises repeats by
// event.id).
//
// Refusal after the handshake. Under TLS 1.3 a receiver judges our client
// certificate only after our side of the handshake is complete, so its refusal
// (an alert, or just a closed connection) arrives after 'secureConnect'.
// rsyslog with GnuTLS goes further, under TLS 1.2 too: the handshake completes
// on both sides, then rsyslog checks the certificate and, if it is missing or
// untrusted, closes the connection without an alert. A batch written at once
// meets either a reset, or, worse, a close that looks clean: GnuTLS may
// already have read our records (and our close) when rsyslog hangs up, so the
// kernel sends no reset, and the refused batch would count as delivered. That
// was seen against rsyslog 8.2302 with one message under TLS 1.2 and with a
// small batch under TLS 1.3. So every send waits a moment after the handshake
// before writing (the refusal window: at least refusalWindowMs, and three times
// the handshake's own duration on a slow link); a receiver that hangs up in
// that window refused us, and nothing was written. It costs that moment per
// batch; losing a batch silently would cost the audit trail.
import { isIP } from 'node:net';
import tls from 'node:tls';
import { renderSyslogBatch } from '../formats/syslog.js';
import { verifiedClientTls } from '../../tls/index.js';
import { connectionContext, deliveryErrorFromNetwork, loadTlsMaterial, refusedAfterHandshake, type TlsMaterial } from './tls.js';
import { DeliveryError, type OutgoingBatch, type RenderContext, type SiemDestination, type Transport } from '../types.js';

export type SyslogTlsDestination = Extract<SiemDestination, { type: 'syslog-tls' }>;

export interface SyslogTlsOptions {
  /** TCP connection and TLS handshake together. Default 15 s. */
  connectTimeoutMs?: number;
  /** No progress in either direction for this long (while writing, or waiting for the receiver to close) fails the batch. Default 30 s. */
  idleTimeoutMs?: number;
  /** The least time to wait after the handshake for a receiver to refuse our client certificate (see the top of this file). Default 250 ms. */
  refusalWindowMs?: number;
}

const DEFAULTS = { connectTimeoutMs: 15_000, idleTimeoutMs: 30_000, refusalWindowMs: 250 } as const;

/** The refusal window never exceeds this, however slow the handshake was. */
const MAX_REFUSAL_WINDOW_MS = 5_000;

/** Frames are gathered into writes of about this size (a TLS record holds at most 16 KiB). */
const WRITE_CHUNK_BYTES = 64 * 1024;

/** RFC 5425 section 4.3 octet counting: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN the message's length in bytes of UTF-8. */
export function octetCountedFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/** `host:port` as policy writes it (no IPv6 literal: the schema allows none). */
export function parseSyslogAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new DeliveryError('configuration', `The SIEM address "${address}" is not host:port with a port from 1 to 65535.`);
  }
  return { host: address.slice(0, colon), port };
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Frames gathered into chunks, each with the number of messages it completes. */
function chunksOf(frames: readonly Buffer[]): { data: Buffer; messages: number }[] {
  const chunks: { data: Buffer; messages: number }[] = [];
  let pending: Buffer[] = [];
  let size = 0;
  for (const frame of frames) {
    pending.push(frame);
    size += frame.length;
    if (size >= WRITE_CHUNK_BYTES) {
      chunks.push({ data: Buffer.concat(pending), messages: pending.length });
      pending = [];
      size = 0;
    }
  }
  if (pending.length > 0) chunks.push({ data: Buffer.concat(pending), messages: pending.length });
  return chunks;
}

interface Delivery {
  host: string;
  port: number;
  address: string;
  /** "batch 7" or "batches 7–12", for messages. */
  batches: string;
  frames: readonly Buffer[];
  material: TlsMaterial;
  signal: AbortSignal;
  timeouts: Required<SyslogTlsOptions>;
  /** Lets close() stop this delivery. */
  register: (stop: () => void) => () => void;
}

function deliver(job: Delivery): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const { address, timeouts } = job;
    // Its stage follows the phase: 'unconfirmed' while awaiting the receiver's verdict, 'accepted' once that window passed.
    const context = connectionContext(address, job.material, 'handshake');
    let phase: 'connecting' | 'awaiting-verdict' | 'writing' | 'closing' = 'connecting';
    let tcpConnectedAt: number | undefined;
    let messagesWritten = 0;
    let receiverClosed = false;
    let settled = false;
    let verdictTimer: NodeJS.Timeout | undefined;
    let connectTimer: NodeJS.Timeout | undefined;
    let unregister = (): void => undefined;

    // Verified whatever NODE_TLS_REJECT_UNAUTHORIZED says: an untrusted or misnamed certificate ends the handshake before a byte is written.
    const socket = tls.connect(
      verifiedClientTls<tls.ConnectionOptions>({
        host: job.host,
        port: job.port,
        // SNI takes a name, never an address; Node checks an address against the certificate's IP SANs.
        ...(isIP(job.host) ? {} : { servername: job.host }),
        secureContext: job.material.secureContext,
      }),
    );

    const cleanUp = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(verdictTimer);
      job.signal.removeEventListener('abort', onAbort);
      unregister();
      return true;
    };
    const succeed = (): void => {
      if (cleanUp()) resolve();
    };
    const fail = (error: unknown): void => {
      if (!cleanUp()) return;
      socket.destroy();
      reject(error);
    };
    const onAbort = (): void => fail(job.signal.reason);
    job.signal.addEventListener('abort', onAbort, { once: true });
    unregister = job.register(() => fail(new DeliveryError('connection_reset', `Delivery to the SIEM at ${address} was stopped before ${job.batches} was confirmed; it will be sent again.`)));

    connectTimer = setTimeout(() => {
      fail(
        new DeliveryError(
          'timeout',
          tcpConnectedAt !== undefined
            ? `The SIEM at ${address} accepted the connection but did not complete the TLS handshake within ${seconds(timeouts.connectTimeoutMs)}: is it a TLS syslog port (usually 6514)?`
            : `No answer from the SIEM at ${address} within ${seconds(timeouts.connectTimeoutMs)}: the network may be down, or a firewall is dropping the connection.`,
        ),
      );
    }, timeouts.connectTimeoutMs);

    const drained = (): Promise<void> =>
      new Promise((done) => {
        const finish = (): void => {
          socket.off('drain', finish);
          socket.off('close', finish);
          done();
        };
        socket.on('drain', finish);
        socket.on('close', finish);
      });

    const writeBatch = async (): Promise<void> => {
      if (settled) return;
      phase = 'writing';
      context.stage = 'accepted';
      for (const chunk of chunksOf(job.frames)) {
        if (settled) return;
        const more = socket.write(chunk.data);
        messagesWritten += chunk.messages;
        if (!more) await drained();
      }
      if (settled) return;
      phase = 'closing';
      socket.end();
    };

    socket.once('connect', () => {
      tcpConnectedAt = Date.now();
    });
    socket.once('secureConnect', () => {
      clearTimeout(connectTimer);
      context.stage = 'unconfirmed';
      socket.setTimeout(timeouts.idleTimeoutMs);
      // A syslog receiver sends nothing; reading is what surfaces its alert or its close.
      socket.resume();
      const handshakeMs = Date.now() - (tcpConnectedAt ?? Date.now());
      phase = 'awaiting-verdict';
      verdictTimer = setTimeout(() => writeBatch().catch(fail), Math.min(MAX_REFUSAL_WINDOW_MS, Math.max(timeouts.refusalWindowMs, 3 * handshakeMs)));
    });
    socket.on('end', () => {
      receiverClosed = true;
      if (phase === 'closing') return; // the clean close we wait for; 'close' follows
      if (phase === 'awaiting-verdict') {
        fail(refusedAfterHandshake(context));
      } else if (phase === 'writing') {
        fail(
          new DeliveryError(
            'connection_reset',
            `The SIEM at ${address} closed the connection after ${messagesWritten} of ${job.frames.length} messages of ${job.batches}, before it was complete; it will be sent again.`,
          ),
        );
      } else {
        fail(new DeliveryError('connection_reset', `The SIEM at ${address} closed the connection during the TLS handshake: the port may not speak TLS, or the SIEM refused this workstation.`));
      }
    });
    socket.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (phase === 'awaiting-verdict' && (code === 'ECONNRESET' || code === 'EPIPE')) fail(refusedAfterHandshake(context, error));
      else fail(deliveryErrorFromNetwork(error, context));
    });
    socket.on('timeout', () => {
      fail(
        new DeliveryError(
          'timeout',
          phase === 'closing'
            ? `The SIEM at ${address} did not close the connection within ${seconds(timeouts.idleTimeoutMs)} after ${job.batches} was written, so its delivery is not confirmed; it will be sent again.`
            : `The SIEM at ${address} stopped taking data for ${seconds(timeouts.idleTimeoutMs)} while ${job.batches} was being sent; it will be sent again.`,
        ),
      );
    });
    socket.on('close', (hadError) => {
      if (settled) return;
      // Delivered: we wrote everything and closed our side, then the receiver closed its side, and nothing failed.
      if (phase === 'closing' && receiverClosed && socket.writableFinished && !hadError) succeed();
      else fail(new DeliveryError('connection_reset', `The connection to the SIEM at ${address} closed before ${job.batches} was confirmed; it will be sent again.`));
    });
  });
}

/**
 * A Transport for one syslog-tls destination. The CA, client certificate and
 * key files are read at every send, so a file IT replaces is used by the next
 * attempt without a restart.
 */
export function createSyslogTlsTransport(destination: SyslogTlsDestination, ctx: RenderContext, options: SyslogTlsOptions = {}): Transport {
  const timeouts: Required<SyslogTlsOptions> = {
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    refusalWindowMs: options.refusalWindowMs ?? DEFAULTS.refusalWindowMs,
  };
  const inFlight = new Set<() => void>();
  let closed = false;

  // Several batches down one connection: the wait for a refusal after the
  // handshake (above) is paid once for a backlog, not once per batch.
  const sendBatches = async (batches: readonly OutgoingBatch[], signal: AbortSignal): Promise<void> => {
    signal.throwIfAborted();
    if (closed) throw new DeliveryError('configuration', `The syslog transport for SIEM destination "${destination.id}" has been closed.`);
    if (batches.length === 0) return;
    const { host, port } = parseSyslogAddress(destination.address);
    const frames = batches.flatMap((batch) => renderSyslogBatch(batch, destination.format, ctx).map(octetCountedFrame));
    const material = await loadTlsMaterial(destination);
    signal.throwIfAborted();
    const first = batches[0]!.batchSeq;
    const last = batches.at(-1)!.batchSeq;
    await deliver({
      host,
      port,
      address: destination.address,
      batches: first === last ? `batch ${first}` : `batches ${first}–${last}`,
      frames,
      material,
      signal,
      timeouts,
      register: (stop) => {
        inFlight.add(stop);
        return () => inFlight.delete(stop);
      },
    });
  };

  return {
    send(batch: OutgoingBatch, signal: AbortSignal): Promise<void> {
      return sendBatches([batch], signal);
    },
    sendBatches,
    async close(): Promise<void> {
      closed = true;
      for (const stop of [...inFlight]) stop();
      inFlight.clear();
    },
  };
}
