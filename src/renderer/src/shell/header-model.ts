// Which workload (and so which model) the header speaks of: the open
// session's, else the one a new session would start with, never a model that
// policy refused while sessions run on another. Its state is the chat's own
// (workloadAvailability: the core's word joined with the model file's check).
import { useEffect, useState } from 'react';
import type { InferenceStatus, Workload } from '../../../shared/api.js';
import { workloadAvailability } from '../components/inference-format.js';
import { call } from '../enclave.js';

/** The open session's workload, else the default: the first whose model was not refused, else the first. */
export function headerWorkload(inference: InferenceStatus, sessionWorkloadId: string | null): Workload | null {
  const { workloads, models } = inference;
  return (sessionWorkloadId ? workloads.find((w) => w.id === sessionWorkloadId) : undefined) ?? workloads.find((w) => workloadAvailability(models, w)?.state !== 'unavailable') ?? workloads[0] ?? null;
}

/** The workload of the session with this id (read from chat.list when the id changes); null for none or unknown. */
export function useSessionWorkloadId(sessionId: string | null, inference: InferenceStatus | null): string | null {
  const [found, setFound] = useState<{ sessionId: string; workloadId: string } | null>(null);
  const ready = inference !== null;
  useEffect(() => {
    if (!sessionId || !ready || found?.sessionId === sessionId) return;
    let current = true;
    void call('chat.list', {}).then((result) => {
      if (!current || !result.ok) return;
      const session = result.output.find((s) => s.id === sessionId);
      if (session) setFound({ sessionId, workloadId: session.workloadId });
    });
    return () => {
      current = false;
    };
  }, [sessionId, ready, found]);
  return sessionId && found?.sessionId === sessionId ? found.workloadId : null;
}
