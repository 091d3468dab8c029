// A connection to the bus: connect, authenticate (EXTERNAL, as this user),
// Hello, then calls with replies, signals and method calls to answer.
import { connect, type Socket } from 'node:net';
import { socketPathsFromAddress } from './address.js';
import { decodeMessage, messageLength } from './parser.js';
import { encodeMessage } from './serializer.js';
import { DbusError, FLAG_NO_REPLY_EXPECTED, MessageType, type DbusMessage, type DbusValue, type OutgoingMessage } from './types.js';

const MAX_AUTH_LINE = 512;
const DEFAULT_CALL_TIMEOUT_MS = 10_000;

export interface CallOptions {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: DbusValue[];
  timeoutMs?: number;
}

interface Pending {
  resolve: (message: DbusMessage) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class DbusConnection {
  private serial = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly signalHandlers = new Set<(message: DbusMessage) => void>();
  private readonly callHandlers = new Set<(message: DbusMessage) => void>();
  private readonly closeHandlers = new Set<(error: Error | null) => void>();
  private buffered: Buffer = Buffer.alloc(0);
  private closed = false;
  /** This connection's unique name on the bus (":1.42"). */
  uniqueName = '';

  private constructor(private readonly socket: Socket) {}

  /**
   * Connects to a bus (the first of the address's sockets that answers),
   * authenticates as this process's user (EXTERNAL) and says Hello. Rejects if
   * every socket fails, or a step takes longer than `timeoutMs`.
   */
  static async connect(address: string, options: { timeoutMs?: number } = {}): Promise<DbusConnection> {
    let lastError: unknown;
    for (const path of socketPathsFromAddress(address)) {
      try {
        return await DbusConnection.connectTo(path, options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  private static async connectTo(path: string, timeoutMs: number): Promise<DbusConnection> {
    const socket = connect({ path });
    const connection = new DbusConnection(socket);
    try {
      await connection.authenticate(timeoutMs);
      const hello = await connection.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello', timeoutMs });
      connection.uniqueName = String(hello.body[0] ?? '');
      return connection;
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  private authenticate(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let text = '';
      const fail = (error: Error): void => {
        cleanup();
        reject(error);
      };
      const timer = setTimeout(() => fail(new DbusError('the bus did not answer the authentication in time')), timeoutMs);
      const onData = (chunk: Buffer): void => {
        text += chunk.toString('latin1');
        const end = text.indexOf('\r\n');
        if (end < 0) {
          if (text.length > MAX_AUTH_LINE) fail(new DbusError('the bus sent an overlong authentication line'));
          return;
        }
        const line = text.slice(0, end);
        if (!line.startsWith('OK ')) return fail(new DbusError(`the bus refused authentication as uid ${process.getuid?.()}: ${line.slice(0, 100)}`));
        const rest = Buffer.from(text.slice(end + 2), 'latin1');
        cleanup();
        this.socket.write('BEGIN\r\n');
        this.socket.on('data', (data: Buffer) => this.receive(data));
        this.socket.on('close', () => this.shutDown(new DbusError('the bus connection closed')));
        if (rest.length > 0) this.receive(rest);
        resolve();
      };
      const onError = (error: Error): void => fail(new DbusError(`cannot connect to the bus: ${error.message}`));
      const onClose = (): void => fail(new DbusError('the bus closed the connection during authentication'));
      const cleanup = (): void => {
        clearTimeout(timer);
        this.socket.off('data', onData);
        this.socket.off('error', onError);
        this.socket.off('close', onClose);
      };
      this.socket.on('data', onData);
      this.socket.on('error', onError);
      this.socket.on('close', onClose);
      // A socket error after the handshake closes the connection ('close' follows); it must not throw.
      this.socket.on('error', () => undefined);
      const uid = process.getuid?.();
      if (uid === undefined) return fail(new DbusError('EXTERNAL authentication needs a user id (Unix only)'));
      this.socket.write(`\0AUTH EXTERNAL ${Buffer.from(String(uid), 'ascii').toString('hex')}\r\n`);
    });
  }

  private receive(data: Buffer): void {
    this.buffered = this.buffered.length === 0 ? data : Buffer.concat([this.buffered, data]);
    try {
      while (!this.closed && this.buffered.length >= 16) {
        const total = messageLength(this.buffered);
        if (this.buffered.length < total) break;
        const message = decodeMessage(this.buffered.subarray(0, total));
        this.buffered = this.buffered.subarray(total);
        this.dispatch(message);
      }
    } catch (error) {
      // A stream that cannot be parsed cannot be resynchronised.
      this.shutDown(error instanceof Error ? error : new DbusError(String(error)));
    }
  }

  private dispatch(message: DbusMessage): void {
    if (message.type === MessageType.METHOD_RETURN || message.type === MessageType.ERROR) {
      const pending = message.replySerial === undefined ? undefined : this.pending.get(message.replySerial);
      if (!pending) return;
      this.pending.delete(message.replySerial!);
      clearTimeout(pending.timer);
      if (message.type === MessageType.ERROR) pending.reject(new DbusError(`${message.errorName ?? 'error'}: ${String(message.body[0] ?? '')}`, message.errorName));
      else pending.resolve(message);
    } else if (message.type === MessageType.SIGNAL) {
      for (const handler of this.signalHandlers) handler(message);
    } else if (message.type === MessageType.METHOD_CALL) {
      if (this.callHandlers.size === 0 && !(message.flags & FLAG_NO_REPLY_EXPECTED)) {
        this.send({
          type: MessageType.ERROR,
          errorName: 'org.freedesktop.DBus.Error.UnknownMethod',
          replySerial: message.serial,
          destination: message.sender,
          signature: 's',
          body: ['no methods here'],
        });
      }
      for (const handler of this.callHandlers) handler(message);
    }
  }

  /** Sends a message; returns its serial. */
  send(message: OutgoingMessage): number {
    if (this.closed) throw new DbusError('the bus connection is closed');
    this.serial = this.serial >= 0xffffffff ? 1 : this.serial + 1;
    this.socket.write(encodeMessage(message, this.serial));
    return this.serial;
  }

  call(options: CallOptions): Promise<DbusMessage> {
    return new Promise((resolve, reject) => {
      let serial: number;
      try {
        serial = this.send({
          type: MessageType.METHOD_CALL,
          destination: options.destination,
          path: options.path,
          interface: options.interface,
          member: options.member,
          signature: options.signature,
          body: options.body,
        });
      } catch (error) {
        reject(error);
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(serial);
        reject(new DbusError(`${options.interface}.${options.member} got no answer in time`));
      }, options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
      this.pending.set(serial, { resolve, reject, timer });
    });
  }

  /** Asks the bus to route signals matching `rule` to this connection. */
  async addMatch(rule: string): Promise<void> {
    await this.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] });
  }

  onSignal(handler: (message: DbusMessage) => void): () => void {
    this.signalHandlers.add(handler);
    return () => this.signalHandlers.delete(handler);
  }

  /** Method calls addressed to this connection (tests play services with it). */
  onMethodCall(handler: (message: DbusMessage) => void): () => void {
    this.callHandlers.add(handler);
    return () => this.callHandlers.delete(handler);
  }

  /** Called once, with the reason, when the connection ends for any reason but close(). */
  onClose(handler: (error: Error | null) => void): () => void {
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private shutDown(error: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    for (const [, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error ?? new DbusError('the bus connection was closed'));
    }
    this.pending.clear();
    for (const handler of this.closeHandlers) handler(error);
  }

  close(): void {
    this.closeHandlers.clear();
    this.shutDown(null);
  }
}

/** A match rule's value, quoted as the D-Bus specification asks (an apostrophe cannot appear inside quotes). */
export function matchRule(parts: Record<string, string>): string {
  return Object.entries(parts)
    .map(([key, value]) => `${key}='${value.replace(/'/g, `'\\''`)}'`)
    .join(',');
}
