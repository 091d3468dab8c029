// The protocol between main and the core when the core runs in an Electron
// utilityProcess. Control messages (init, ready, fatal, shutdown) travel on the
// process's parent port; calls, responses and events on the MessagePort that
// init hands over. Both ends check what they receive: a malformed message is a
// bug or an attack, never something to guess at.
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';

export const InitMessage = z
  .object({
    type: z.literal('init'),
    dataDir: z.string().min(1),
    /** The 256-bit database key, hex; main unwrapped it from the OS key store. */
    databaseKeyHex: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters'),
    /** Unpackaged builds under test only: one policy file instead of the platform's managed sources. */
    policyOverridePath: z.string().min(1).nullable().optional(),
    version: z.string().min(1),
  })
  .strict();
export type InitMessage = z.infer<typeof InitMessage>;

export const ShutdownMessage = z.object({ type: z.literal('shutdown') }).strict();
export type ShutdownMessage = z.infer<typeof ShutdownMessage>;

const ErrorInfoSchema = z.object({ code: z.enum(ERROR_CODES), message: z.string() });

/** From the core to main on the parent port. */
export const CoreStatusMessage = z.discriminatedUnion('type', [z.object({ type: z.literal('ready') }), z.object({ type: z.literal('fatal'), error: ErrorInfoSchema })]);
export type CoreStatusMessage = z.infer<typeof CoreStatusMessage>;

export const CallRequestSchema = z.object({ id: z.number().int().nonnegative(), method: z.string(), input: z.unknown() }).strict();

export const CallResponseSchema = z.union([z.object({ id: z.number(), ok: z.literal(true), output: z.unknown() }), z.object({ id: z.number(), ok: z.literal(false), error: ErrorInfoSchema })]);

export const EventMessageSchema = z.object({ event: z.string(), payload: z.unknown() });
