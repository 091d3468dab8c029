// The shapes the test model comes in: tiny for tests, larger ones for benchmarks.

/** How the 2-D weight matrices are stored; the quantised types use ggml's block layouts. */
export type TestModelFileType = 'F32' | 'F16' | 'Q8_0' | 'Q4_0';

export interface TestModelShape {
  embeddingLength: number;
  blockCount: number;
  headCount: number;
  headCountKv: number;
  feedForwardLength: number;
  contextLength: number;
  /**
   * Storage of the 2-D weight matrices; norms are always F32 (as llama.cpp's
   * converters and quantizer do). Q8_0 and Q4_0 need embeddingLength and
   * feedForwardLength to be multiples of 32, ggml's block length for them.
   */
  fileType: TestModelFileType;
}

export const TEST_MODEL_SHAPES = {
  /** Loads and generates in milliseconds: for tests. */
  tiny: { embeddingLength: 64, blockCount: 2, headCount: 4, headCountKv: 4, feedForwardLength: 128, contextLength: 4096, fileType: 'F32' },
  /** ~29M parameters (~60 MB in F16): big enough that CPU timings mean something. */
  bench: { embeddingLength: 512, blockCount: 8, headCount: 8, headCountKv: 8, feedForwardLength: 1536, contextLength: 4096, fileType: 'F16' },
  /** tiny with Q8_0 matrices: for tests of the quantised path. */
  tinyQ8: { embeddingLength: 64, blockCount: 2, headCount: 4, headCountKv: 4, feedForwardLength: 128, contextLength: 4096, fileType: 'Q8_0' },
  /** tiny with Q4_0 matrices: for tests of the quantised path. */
  tinyQ4: { embeddingLength: 64, blockCount: 2, headCount: 4, headCountKv: 4, feedForwardLength: 128, contextLength: 4096, fileType: 'Q4_0' },
  /**
   * Llama 3.2 1B's layer sizes in Q8_0 (1.04 GB): for benchmarks where the
   * model's size and compute matter, not what it says. Our vocabulary is ~1,300
   * tokens, not 128,256, so this has 0.98B parameters: Llama 3.2 1B's 1.24B
   * less nearly all of its 263M-parameter embedding. (Llama 3.2 ties output to
   * token_embd; this keeps a separate output.weight, which the output-row trick needs.)
   */
  llama1bQ8: { embeddingLength: 2048, blockCount: 16, headCount: 32, headCountKv: 8, feedForwardLength: 8192, contextLength: 4096, fileType: 'Q8_0' },
  /** llama1bQ8 in Q4_0 (0.55 GB). */
  llama1bQ4: { embeddingLength: 2048, blockCount: 16, headCount: 32, headCountKv: 8, feedForwardLength: 8192, contextLength: 4096, fileType: 'Q4_0' },
} as const satisfies Record<string, TestModelShape>;
