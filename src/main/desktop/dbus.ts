// A small D-Bus client: enough to follow the Linux desktop's screen lock
// (connect, authenticate as this user, add match rules, call a method, receive
// signals) and, for the tests, to play a service (own a name, answer a call,
// emit a signal). Plain Node (node:net), no Electron.
//
// Written here rather than taken from npm: the maintained JavaScript client
// (dbus-next) brings some 70 packages into the app, among them a native addon
// for abstract sockets built with an old node-gyp (and its deprecated `request`)
// and an XML parser with a published advisory, all for introspection this code
// never needs. Node reaches abstract sockets by itself. What is implemented
// follows the D-Bus specification (wire format, EXTERNAL authentication); what
// is not (file descriptors, other authentication mechanisms, TCP) is refused
// with a clear error.
import { connect, type Socket } from 'node:net';

/** D-Bus caps a message at 128 MiB; nothing Enclave listens for comes near 1 MiB. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_AUTH_LINE = 512;
const MAX_NESTING = 32;
const DEFAULT_CALL_TIMEOUT_MS = 10_000;

export const MessageType = { METHOD_CALL: 1, METHOD_RETURN: 2, ERROR: 3, SIGNAL: 4 } as const;
const FLAG_NO_REPLY_EXPECTED = 0x1;
const FIELD = { PATH: 1, INTERFACE: 2, MEMBER: 3, ERROR_NAME: 4, REPLY_SERIAL: 5, DESTINATION: 6, SENDER: 7, SIGNATURE: 8, UNIX_FDS: 9 } as const;

export type DbusValue = string | number | bigint | boolean | DbusValue[] | { signature: string; value: DbusValue };

export interface DbusMessage {
  type: number;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature: string;
  body: DbusValue[];
}

/** Something went wrong on the bus; `dbusName` is the D-Bus error name when the peer answered with one. */
export class DbusError extends Error {
  constructor(
    message: string,
    readonly dbusName?: string,
  ) {
    super(message);
    this.name = 'DbusError';
  }
}

// ---------------------------------------------------------------------------
// Addresses

/**
 * Where to connect, from a D-Bus address ("unix:path=/run/user/1000/bus",
 * "unix:abstract=/tmp/dbus-x,guid=...", several separated by ";"): every unix
 * path or abstract socket, in order (a client tries them one after another).
 * Node names an abstract socket with a leading NUL.
 */
export function socketPathsFromAddress(address: string): string[] {
  const paths: string[] = [];
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':');
    if (colon < 0 || entry.slice(0, colon) !== 'unix') continue;
    const params = new Map<string, string>();
    for (const pair of entry.slice(colon + 1).split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      let value: string;
      try {
        value = decodeURIComponent(pair.slice(eq + 1));
      } catch {
        continue;
      }
      params.set(pair.slice(0, eq), value);
    }
    const path = params.get('path');
    const abstract = params.get('abstract');
    if (path) paths.push(path);
    else if (abstract) paths.push(`\0${abstract}`);
  }
  if (paths.length === 0) throw new DbusError(`no unix socket in the D-Bus address "${address.slice(0, 200)}" (only unix:path= and unix:abstract= are supported)`);
  return paths;
}

// ---------------------------------------------------------------------------
// Signatures

const ALIGNMENT: Record<string, number> = { y: 1, g: 1, v: 1, n: 2, q: 2, b: 4, i: 4, u: 4, h: 4, s: 4, o: 4, a: 4, x: 8, t: 8, d: 8, '(': 8, '{': 8 };

/** The index just past the single complete type that starts at `start`. */
function endOfType(signature: string, start: number, depth = 0): number {
  if (depth > MAX_NESTING) throw new DbusError('signature nested too deeply');
  const c = signature[start];
  if (c === undefined) throw new DbusError(`incomplete signature "${signature}"`);
  if (c === 'a') return endOfType(signature, start + 1, depth + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let i = start + 1;
    while (signature[i] !== close) {
      if (i >= signature.length) throw new DbusError(`unclosed "${c}" in signature "${signature}"`);
      i = endOfType(signature, i, depth + 1);
    }
    if (i === start + 1) throw new DbusError(`empty struct in signature "${signature}"`);
    return i + 1;
  }
  if (!(c in ALIGNMENT) || c === 'a') throw new DbusError(`unsupported type "${c}" in signature "${signature}"`);
  return start + 1;
}

/** A signature split into its complete types: "sa{sv}b" → ["s", "a{sv}", "b"]. */
export function splitSignature(signature: string): string[] {
  const types: string[] = [];
  for (let i = 0; i < signature.length; ) {
    const end = endOfType(signature, i);
    types.push(signature.slice(i, end));
    i = end;
  }
  return types;
}

// ---------------------------------------------------------------------------
// Reading

class Reader {
  offset: number;
  constructor(
    private readonly buffer: Buffer,
    private readonly little: boolean,
    /** Offsets are aligned relative to the start of the message. */
    private readonly base: number,
    start: number,
    private readonly end: number,
  ) {
    this.offset = start;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.end) throw new DbusError('message ends early');
  }

  align(n: number): void {
    const rel = this.offset - this.base;
    const padded = Math.ceil(rel / n) * n;
    this.need(padded - rel);
    this.offset = this.base + padded;
  }

  private u8(): number {
    this.need(1);
    return this.buffer.readUInt8(this.offset++);
  }

  u32(): number {
    this.align(4);
    this.need(4);
    const v = this.little ? this.buffer.readUInt32LE(this.offset) : this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  private text(length: number): string {
    this.need(length + 1);
    const value = this.buffer.toString('utf8', this.offset, this.offset + length);
    if (this.buffer[this.offset + length] !== 0) throw new DbusError('string not terminated');
    this.offset += length + 1;
    return value;
  }

  value(type: string, depth = 0): DbusValue {
    if (depth > MAX_NESTING) throw new DbusError('value nested too deeply');
    const c = type[0];
    switch (c) {
      case 'y':
        return this.u8();
      case 'b': {
        const v = this.u32();
        if (v > 1) throw new DbusError('boolean is neither 0 nor 1');
        return v === 1;
      }
      case 'n':
      case 'q': {
        this.align(2);
        this.need(2);
        const v =
          c === 'n'
            ? this.little ? this.buffer.readInt16LE(this.offset) : this.buffer.readInt16BE(this.offset)
            : this.little ? this.buffer.readUInt16LE(this.offset) : this.buffer.readUInt16BE(this.offset);
        this.offset += 2;
        return v;
      }
      case 'i': {
        const v = this.u32();
        return v | 0;
      }
      case 'u':
      case 'h':
        return this.u32();
      case 'x':
      case 't':
      case 'd': {
        this.align(8);
        this.need(8);
        const at = this.offset;
        this.offset += 8;
        if (c === 'd') return this.little ? this.buffer.readDoubleLE(at) : this.buffer.readDoubleBE(at);
        if (c === 'x') return this.little ? this.buffer.readBigInt64LE(at) : this.buffer.readBigInt64BE(at);
        return this.little ? this.buffer.readBigUInt64LE(at) : this.buffer.readBigUInt64BE(at);
      }
      case 's':
      case 'o':
        return this.text(this.u32());
      case 'g':
        return this.text(this.u8());
      case 'v': {
        const signature = this.text(this.u8());
        const types = splitSignature(signature);
        if (types.length !== 1) throw new DbusError('a variant holds exactly one type');
        return { signature, value: this.value(signature, depth + 1) };
      }
      case 'a': {
        const length = this.u32();
        if (length > MAX_MESSAGE_BYTES) throw new DbusError('array too long');
        const element = type.slice(1);
        this.align(ALIGNMENT[element[0] ?? ''] ?? 1);
        const stop = this.offset + length;
        if (stop > this.end) throw new DbusError('message ends early');
        const items: DbusValue[] = [];
        while (this.offset < stop) items.push(this.value(element, depth + 1));
        if (this.offset !== stop) throw new DbusError('array length does not match its elements');
        return items;
      }
      case '(':
      case '{': {
        this.align(8);
        return splitSignature(type.slice(1, -1)).map((field) => this.value(field, depth + 1));
      }
      default:
        throw new DbusError(`unsupported type "${type}"`);
    }
  }
}

/** Bytes a complete message needs, once its first 16 are in; throws for a message over the limit. */
export function messageLength(head: Buffer): number {
  const little = head[0] === 0x6c; // 'l'
  if (!little && head[0] !== 0x42) throw new DbusError('not a D-Bus message (endianness byte)');
  const bodyLength = little ? head.readUInt32LE(4) : head.readUInt32BE(4);
  const fieldsLength = little ? head.readUInt32LE(12) : head.readUInt32BE(12);
  const total = Math.ceil((16 + fieldsLength) / 8) * 8 + bodyLength;
  if (total > MAX_MESSAGE_BYTES) throw new DbusError(`a D-Bus message of ${total} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`);
  return total;
}

export function decodeMessage(buffer: Buffer): DbusMessage {
  const total = messageLength(buffer);
  if (buffer.length < total) throw new DbusError('message ends early');
  const little = buffer[0] === 0x6c;
  if (buffer[3] !== 1) throw new DbusError(`unsupported D-Bus protocol version ${buffer[3]}`);
  const header = new Reader(buffer, little, 0, 12, total);
  const fields = header.value('a(yv)') as [number, { signature: string; value: DbusValue }][];
  const message: DbusMessage = {
    type: buffer[1] ?? 0,
    flags: buffer[2] ?? 0,
    serial: little ? buffer.readUInt32LE(8) : buffer.readUInt32BE(8),
    signature: '',
    body: [],
  };
  for (const [code, { value }] of fields) {
    if (code === FIELD.PATH) message.path = String(value);
    else if (code === FIELD.INTERFACE) message.interface = String(value);
    else if (code === FIELD.MEMBER) message.member = String(value);
    else if (code === FIELD.ERROR_NAME) message.errorName = String(value);
    else if (code === FIELD.REPLY_SERIAL) message.replySerial = Number(value);
    else if (code === FIELD.DESTINATION) message.destination = String(value);
    else if (code === FIELD.SENDER) message.sender = String(value);
    else if (code === FIELD.SIGNATURE) message.signature = String(value);
    else if (code === FIELD.UNIX_FDS && Number(value) > 0) throw new DbusError('file descriptors are not supported');
  }
  header.align(8);
  const body = new Reader(buffer, little, header.offset, header.offset, total);
  message.body = splitSignature(message.signature).map((type) => body.value(type));
  if (body.offset !== total) throw new DbusError('body longer than its signature');
  return message;
}

// ---------------------------------------------------------------------------
// Writing (little-endian; basic types only: what Enclave and its tests send)

class Writer {
  private chunks: number[] = [];
  get length(): number {
    return this.chunks.length;
  }
  align(n: number): void {
    while (this.chunks.length % n !== 0) this.chunks.push(0);
  }
  byte(v: number): void {
    this.chunks.push(v & 0xff);
  }
  u32(v: number): void {
    this.align(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.chunks.push(...b);
  }
  setU32(at: number, v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    b.forEach((byte, i) => (this.chunks[at + i] = byte));
  }
  string(v: string): void {
    const bytes = Buffer.from(v, 'utf8');
    if (bytes.includes(0)) throw new DbusError('a D-Bus string cannot hold NUL');
    this.u32(bytes.length);
    this.chunks.push(...bytes, 0);
  }
  signature(v: string): void {
    if (v.length > 255) throw new DbusError('signature too long');
    this.byte(v.length);
    this.chunks.push(...Buffer.from(v, 'ascii'), 0);
  }
  basic(type: string, value: DbusValue): void {
    switch (type) {
      case 's':
      case 'o':
        return this.string(String(value));
      case 'g':
        return this.signature(String(value));
      case 'b':
        return this.u32(value === true ? 1 : 0);
      case 'u':
      case 'i':
        return this.u32(Number(value));
      case 'y':
        return this.byte(Number(value));
      default:
        throw new DbusError(`sending type "${type}" is not supported`);
    }
  }
  buffer(): Buffer {
    return Buffer.from(this.chunks);
  }
}

/** A message to send: the bus gives the serial and the sender. */
export type OutgoingMessage = Partial<Omit<DbusMessage, 'type' | 'serial' | 'sender'>> & { type: number };

export function encodeMessage(message: OutgoingMessage, serial: number): Buffer {
  const signature = message.signature ?? '';
  const types = splitSignature(signature);
  const bodyValues = message.body ?? [];
  if (types.length !== bodyValues.length) throw new DbusError(`signature "${signature}" needs ${types.length} values, got ${bodyValues.length}`);
  const body = new Writer();
  types.forEach((type, i) => body.basic(type, bodyValues[i]!));

  const fields: [number, string, DbusValue][] = [];
  if (message.path !== undefined) fields.push([FIELD.PATH, 'o', message.path]);
  if (message.interface !== undefined) fields.push([FIELD.INTERFACE, 's', message.interface]);
  if (message.member !== undefined) fields.push([FIELD.MEMBER, 's', message.member]);
  if (message.errorName !== undefined) fields.push([FIELD.ERROR_NAME, 's', message.errorName]);
  if (message.replySerial !== undefined) fields.push([FIELD.REPLY_SERIAL, 'u', message.replySerial]);
  if (message.destination !== undefined) fields.push([FIELD.DESTINATION, 's', message.destination]);
  if (signature !== '') fields.push([FIELD.SIGNATURE, 'g', signature]);

  const w = new Writer();
  w.byte(0x6c);
  w.byte(message.type);
  w.byte(message.flags ?? 0);
  w.byte(1);
  w.u32(body.length);
  w.u32(serial);
  w.u32(0); // fields array length, filled in below
  const arrayStart = 16;
  for (const [code, type, value] of fields) {
    w.align(8);
    w.byte(code);
    w.signature(type);
    w.basic(type, value);
  }
  w.setU32(12, w.length - arrayStart);
  w.align(8);
  return Buffer.concat([w.buffer(), body.buffer()]);
}

// ---------------------------------------------------------------------------
// The connection

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
        this.send({ type: MessageType.ERROR, errorName: 'org.freedesktop.DBus.Error.UnknownMethod', replySerial: message.serial, destination: message.sender, signature: 's', body: ['no methods here'] });
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
        serial = this.send({ type: MessageType.METHOD_CALL, destination: options.destination, path: options.path, interface: options.interface, member: options.member, signature: options.signature, body: options.body });
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
