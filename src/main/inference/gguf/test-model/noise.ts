// Seeded random weights: the same seed always writes the same file.

/** Fills values[start, end) with zero-mean noise of standard deviation std. */
export type Noise = (values: Float32Array, start: number, end: number, std: number) => void;

// mulberry32: tiny, fast and deterministic, so a seed always writes the same file.
function createRandomUint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export function normalNoise(seed: number): Noise {
  const next = createRandomUint32(seed);
  const random = (): number => next() / 4294967296;
  return (values, start, end, std) => {
    for (let i = start; i < end; i++) {
      // Box-Muller; 1 - u keeps log() away from 0.
      const u = 1 - random();
      const v = random();
      values[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * std;
    }
  };
}

/** Standard deviation of the sum of four independent uniform bytes. */
const BYTE_SUM_STD = Math.sqrt((4 * (256 * 256 - 1)) / 12);

/**
 * Bell-shaped noise from one 32-bit draw: the sum of its four bytes, centred
 * and scaled (Irwin-Hall, so bounded at ±3.5 std). Box-Muller costs ~40 ns a
 * value in V8, ~40 s for a 1B-parameter model before any quantising; this is
 * several times cheaper, and weights that are only ever benchmarked need to
 * look random and stay finite, nothing more.
 */
export function byteSumNoise(seed: number): Noise {
  const next = createRandomUint32(seed);
  return (values, start, end, std) => {
    const scale = std / BYTE_SUM_STD;
    for (let i = start; i < end; i++) {
      const r = next();
      values[i] = ((r & 0xff) + ((r >>> 8) & 0xff) + ((r >>> 16) & 0xff) + (r >>> 24) - 510) * scale;
    }
  };
}
