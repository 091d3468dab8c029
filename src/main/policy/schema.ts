// Managed policy: the one schema every source (evaluation file, /etc file,
// and later Group Policy and MDM) is checked against.
import { z } from 'zod';
import { Role } from '../../shared/api.js';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters (SHA-256)');
const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be lower-case letters, digits and dashes');

export const ModelEntry = z
  .object({
    id: Slug,
    name: z.string().min(1).max(200),
    path: z.string().min(1),
    sha256: Sha256,
    contextSize: z.number().int().min(256).max(1_048_576).default(4096),
  })
  .strict();

export const WorkloadEntry = z
  .object({
    id: Slug,
    name: z.string().min(1).max(200),
    /** A model id from `models`, or null to use the evaluation model chosen on first run. */
    model: Slug.nullable(),
    systemPrompt: z.string().max(20_000).optional(),
  })
  .strict();

export const PolicySchema = z
  .object({
    $schema: z.string().optional(),
    mode: z.enum(['evaluation', 'managed']),
    institution: z.object({ name: z.string().min(1).max(200) }).strict(),
    storage: z
      .object({
        /**
         * Allow the database key to be kept in a key file instead of the OS key
         * store. Only for evaluation and for the headless tools' tests: a key
         * file next to the database protects nothing.
         */
        allowKeyFile: z.boolean().default(false),
        chatRetentionDays: z.number().int().min(0).max(36_500).default(30),
      })
      .strict(),
    session: z
      .object({
        idleLockMinutes: z.number().min(0.05).max(480).default(15),
        maxFailedSignIns: z.number().int().min(1).max(100).default(5),
        failedSignInLockoutSeconds: z.number().int().min(1).max(86_400).default(60),
      })
      .strict(),
    inference: z
      .object({
        models: z.array(ModelEntry).default([]),
        workloads: z.array(WorkloadEntry).min(1),
        /** Evaluation only: the first-run screen may add a local GGUF or generate the test model. */
        allowUserModels: z.boolean().default(false),
        gpu: z.enum(['auto', 'off']).default('auto'),
        maxPromptChars: z.number().int().min(1).max(200_000).default(16_000),
        maxResponseTokens: z.number().int().min(1).max(32_768).default(1024),
      })
      .strict(),
    roles: z
      .object({
        /** Roles the first evaluation account receives. */
        evaluationAccount: z.array(Role).min(1).default(['clinician', 'researcher', 'compliance', 'administrator']),
      })
      .strict()
      .default({ evaluationAccount: ['clinician', 'researcher', 'compliance', 'administrator'] }),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const modelIds = new Set(policy.inference.models.map((m) => m.id));
    policy.inference.workloads.forEach((w, i) => {
      if (w.model === null && !policy.inference.allowUserModels) {
        ctx.addIssue({ code: 'custom', path: ['inference', 'workloads', i, 'model'], message: 'a workload without a model needs inference.allowUserModels' });
      }
      if (w.model !== null && !modelIds.has(w.model)) {
        ctx.addIssue({ code: 'custom', path: ['inference', 'workloads', i, 'model'], message: `names model "${w.model}", which is not in inference.models` });
      }
    });
    if (policy.mode === 'managed' && (policy.storage.allowKeyFile || policy.inference.allowUserModels)) {
      ctx.addIssue({ code: 'custom', path: ['mode'], message: 'storage.allowKeyFile and inference.allowUserModels are for evaluation mode only' });
    }
  });

export type Policy = z.output<typeof PolicySchema>;
export type ModelEntry = z.output<typeof ModelEntry>;
export type WorkloadEntry = z.output<typeof WorkloadEntry>;
