// The llama.cpp backend this workstation gets: node-llama-cpp loads the best
// shipped binary (CUDA, Vulkan, Metal, else CPU) the way the engine does, with
// inference.gpu respected. CPU-only works, only slower, so it is a warning.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Policy } from '../../policy/index.js';
import { fail, messageOf, ok, seconds, TimeoutError, warn, withTimeout, type CheckResult } from './check.js';

export const GPU_TIMEOUT_MS = 60_000;

const BACKENDS: Record<string, string> = { cuda: 'CUDA', vulkan: 'Vulkan', metal: 'Metal' };

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

export async function checkGpu(policy: Policy | null, timeoutMs = GPU_TIMEOUT_MS): Promise<CheckResult> {
  const name = 'gpu';
  const setting = policy?.inference.gpu ?? 'auto';
  const errors: string[] = [];
  const loading = getLlama({
    gpu: setting === 'off' ? false : setting,
    // As the engine: workstations have no compiler; use the shipped binaries or fail.
    build: 'never',
    progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) errors.push(message.trim());
    },
  });
  let llama;
  try {
    llama = await withTimeout(loading, timeoutMs);
  } catch (error) {
    // A late load is still disposed, so the process can end.
    loading.then((late) => late.dispose()).catch(() => undefined);
    if (error instanceof TimeoutError) return fail(name, `llama.cpp did not start within ${seconds(timeoutMs)}; the GPU driver may be hung`);
    const detail = [messageOf(error), ...errors.slice(-3)].filter(Boolean).join('; ');
    // A named backend that cannot start is not fatal: the engine falls back to the CPU and says so.
    if (setting !== 'auto')
      return warn(
        name,
        `inference.gpu asks for ${BACKENDS[setting] ?? setting}, which could not start (${detail}); inference falls back to the CPU. Install the GPU driver or set inference.gpu to auto`,
      );
    return fail(name, `llama.cpp could not start: ${detail}; reinstall Enclave or check the GPU driver`);
  }
  try {
    const cores = llama.cpuMathCores;
    if (llama.gpu === false) {
      if (setting === 'off') return ok(name, `inference.gpu is off: inference runs on the CPU (${cores} cores) by policy`);
      return warn(name, `cpu: no usable GPU backend (CUDA, Vulkan or Metal) found; inference runs on the CPU (${cores} cores): it works, only slower. Install or update the GPU driver to use a GPU`);
    }
    const backend = llama.gpu;
    const [names, vram] = await Promise.all([llama.getGpuDeviceNames().catch(() => [] as string[]), llama.getVramState().catch(() => null)]);
    const devices = names.length > 0 ? names.join(', ') : 'device names not reported';
    const memory = vram && vram.total > 0 ? ` (${gib(vram.total)} GPU memory, ${gib(vram.free)} free)` : '';
    return ok(name, `${backend}: ${BACKENDS[backend] ?? backend} on ${devices}${memory}`);
  } finally {
    await llama.dispose().catch(() => undefined);
  }
}
