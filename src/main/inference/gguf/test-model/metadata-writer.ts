// GGUF's header encoding: little-endian numbers, length-prefixed strings and typed metadata values.

const enum ValueType {
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
}

export type MetadataValue =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'f32[]'; value: readonly number[] }
  | { type: 'i32[]'; value: readonly number[] };

export class ByteWriter {
  private readonly chunks: Buffer[] = [];
  length = 0;
  push(buffer: Buffer): void {
    this.chunks.push(buffer);
    this.length += buffer.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  zeros(n: number): void {
    if (n > 0) this.push(Buffer.alloc(n));
  }
  value(v: MetadataValue): void {
    switch (v.type) {
      case 'u32':
        this.u32(ValueType.Uint32);
        this.u32(v.value);
        return;
      case 'f32':
        this.u32(ValueType.Float32);
        this.f32(v.value);
        return;
      case 'bool':
        this.u32(ValueType.Bool);
        this.push(Buffer.from([v.value ? 1 : 0]));
        return;
      case 'string':
        this.u32(ValueType.String);
        this.str(v.value);
        return;
      case 'string[]':
        this.u32(ValueType.Array);
        this.u32(ValueType.String);
        this.u64(v.value.length);
        for (const s of v.value) this.str(s);
        return;
      case 'f32[]':
        this.u32(ValueType.Array);
        this.u32(ValueType.Float32);
        this.u64(v.value.length);
        for (const x of v.value) this.f32(x);
        return;
      case 'i32[]':
        this.u32(ValueType.Array);
        this.u32(ValueType.Int32);
        this.u64(v.value.length);
        for (const x of v.value) this.i32(x);
        return;
    }
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
