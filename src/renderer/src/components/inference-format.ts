// Display helpers for where the model runs, how far a load or a file check
// has got, which workloads can be used, and where an answer waits its turn.
import { t } from '../i18n/index.js';
import type { GenerationQueue, InferenceStatus, ModelAvailability, ModelSummary, Workload } from '../../../shared/api.js';

const BACKEND: Record<'cuda' | 'vulkan' | 'metal', string> = { cuda: 'CUDA', vulkan: 'Vulkan', metal: 'Metal' };

/** Where the model runs: "GPU (CUDA) · NVIDIA RTX A2000 · 33/33 layers", "CPU (1 thread)". */
export function deviceText(inference: InferenceStatus | null): string {
  const device = inference?.device;
  if (!device) return t('chat:deviceNotLoaded');
  if (device.kind === 'cpu') {
    // The engine names the CPU "CPU (8 threads)" in English; say that from the catalog.
    const threads = /^CPU \((\d+) threads?\)$/.exec(device.name);
    if (threads) return t('chat:deviceCpuThreads', { count: Number(threads[1]) });
    return /^cpu\b/i.test(device.name) ? device.name : t('chat:deviceCpu', { name: device.name });
  }
  const backend = BACKEND[device.kind];
  const parts: string[] = [t('chat:deviceGpu', { backend })];
  // Without a device name the engine reports the backend again; say it once.
  if (device.name && device.name.toLowerCase() !== device.kind) parts.push(device.name);
  const offload = inference.offload;
  if (offload && offload.totalLayers > 0) parts.push(t('chat:deviceLayers', { gpu: offload.gpuLayers, total: offload.totalLayers }));
  return parts.join(' · ');
}

/** A fallback from the GPU, as a short badge and the engine's reason in a sentence; null when it runs as set. */
export function offloadWarning(inference: InferenceStatus | null): { badge: string; detail: string } | null {
  const fallback = inference?.offload?.fallback;
  if (!inference || !fallback) return null;
  const onCpu = inference.device?.kind === 'cpu' || inference.offload?.gpuLayers === 0;
  return { badge: onCpu ? t('chat:cpuFallback') : t('chat:fewerGpuLayers'), detail: t('chat:fallbackDetail', { reason: sentence(fallback) }) };
}

/** "the GPU could not … CPU" → "The GPU could not … CPU." */
export function sentence(text: string): string {
  const trimmed = text.trim();
  const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

/** 0–1 as a whole percent, rounded down so 100% means done; null stays null. */
export function percent(progress: number | null | undefined): string | null {
  if (progress === null || progress === undefined || !Number.isFinite(progress)) return null;
  return `${Math.floor(Math.min(1, Math.max(0, progress)) * 100)}%`;
}

/** How far a model file's check has got: that model's, else any model being checked; null when unknown. */
export function hashProgress(models: readonly ModelSummary[], modelId: string | null): number | null {
  const checking = (m: ModelSummary | undefined) => (m && m.availability.state === 'checking' ? m.availability.progress : null);
  return checking(models.find((m) => m.id === modelId)) ?? models.map((m) => checking(m)).find((p) => p !== null) ?? null;
}

/** The model a workload routes to; one without its own uses the newest evaluation model, as the core does. */
export function modelOfWorkload(models: readonly ModelSummary[], workload: Workload | null | undefined): ModelSummary | null {
  if (!workload) return null;
  return (workload.modelId === null ? models.find((m) => m.source === 'evaluation') : models.find((m) => m.id === workload.modelId)) ?? null;
}

/** Whether a workload can be used: unavailable when the core says so or its model file was refused; checking while the file is verified. */
export interface WorkloadUse {
  state: 'ready' | 'checking' | 'unavailable';
  /** Why it cannot be used, in words a clinician can act on; null when nobody said. */
  reason: string | null;
  /** How far its model file's check has got (0–1), while checking. */
  progress: number | null;
}

export function workloadAvailability(models: readonly ModelSummary[], workload: Workload | null | undefined): WorkloadUse | null {
  if (!workload) return null;
  const model: ModelAvailability | null = modelOfWorkload(models, workload)?.availability ?? null;
  const own = workload.availability;
  if (own.state === 'unavailable' || model?.state === 'rejected') return { state: 'unavailable', reason: own.reason ?? model?.message ?? null, progress: null };
  if (own.state === 'checking' || model?.state === 'checking') return { state: 'checking', reason: own.reason, progress: model?.progress ?? null };
  return { state: 'ready', reason: null, progress: null };
}

/** The picker's text for a workload: its name, and why it cannot be used yet or at all. */
export function workloadOptionLabel(workload: Workload, availability: WorkloadUse | null): string {
  if (availability?.state === 'unavailable') return t('chat:workloadUnavailableOption', { name: workload.name });
  if (availability?.state === 'checking') return t('chat:workloadCheckingOption', { name: workload.name });
  return workload.name;
}

/** How many answers come before this one: null when it is not waiting (running, done, or not known yet). */
export function answersAhead(queue: GenerationQueue | null, responseId: string | null): number | null {
  if (!queue || !responseId) return null;
  const index = queue.waiting.findIndex((w) => w.responseId === responseId);
  if (index === -1) return null;
  return index + (queue.running ? 1 : 0);
}

export function waitingText(ahead: number): string {
  if (ahead <= 0) return t('chat:waitingForModel');
  return t('chat:waitingAhead', { count: ahead });
}
