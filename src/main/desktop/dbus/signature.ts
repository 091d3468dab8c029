// Type signatures: alignment per type and splitting a signature into its complete types.
import { DbusError, MAX_NESTING } from './types.js';

export const ALIGNMENT: Record<string, number> = { y: 1, g: 1, v: 1, n: 2, q: 2, b: 4, i: 4, u: 4, h: 4, s: 4, o: 4, a: 4, x: 8, t: 8, d: 8, '(': 8, '{': 8 };

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
  for (let i = 0; i < signature.length;) {
    const end = endOfType(signature, i);
    types.push(signature.slice(i, end));
    i = end;
  }
  return types;
}
