// Writing messages (little-endian; basic types only: what Enclave and its tests send).
import { splitSignature } from './signature.js';
import { DbusError, FIELD, type DbusValue, type OutgoingMessage } from './types.js';

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
