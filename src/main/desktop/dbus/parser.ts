// Reading messages off the wire (either byte order, the types the specification defines but file descriptors).
import { ALIGNMENT, splitSignature } from './signature.js';
import { DbusError, FIELD, MAX_MESSAGE_BYTES, MAX_NESTING, type DbusMessage, type DbusValue } from './types.js';

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
            ? this.little
              ? this.buffer.readInt16LE(this.offset)
              : this.buffer.readInt16BE(this.offset)
            : this.little
              ? this.buffer.readUInt16LE(this.offset)
              : this.buffer.readUInt16BE(this.offset);
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
