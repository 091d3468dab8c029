// Error codes that cross the process boundary. The message is written for the
// person in front of the screen; the code is for programs and tests.
export const ERROR_CODES = [
  'invalid_input',
  'policy_invalid',
  'unknown_call',
  'not_signed_in',
  'locked',
  'forbidden',
  'bad_credentials',
  'account_disabled',
  'account_locked',
  'account_expired',
  'account_restricted',
  'password_expired',
  'no_role',
  'directory_unreachable',
  'directory_untrusted',
  'card_unavailable',
  'card_rejected',
  'card_pin_incorrect',
  'card_pin_locked',
  'too_many_attempts',
  'not_evaluation_mode',
  'already_set_up',
  'model_not_configured',
  'model_not_allowed',
  'model_corrupt',
  'model_file_missing',
  'prompt_too_long',
  'busy',
  'not_found',
  'chat_locked',
  'audit_write_failed',
  'audit_corrupt',
  'export_failed',
  'storage_failed',
  'attestation_required',
  'copy_disabled',
  'conflict',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The most of a message that crosses to the screen: enough for a list of policy problems, never a megabyte of echoed input. */
export const ERROR_MESSAGE_MAX_CHARS = 2000;
/** The most of one piece of someone's input (a key, a name, a value) that an error message repeats. */
export const ECHOED_INPUT_MAX_CHARS = 64;

/** `text` cut to `max` characters, with an ellipsis where it was cut (never splitting a surrogate pair). */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** A piece of input as an error message may quote it: at most ECHOED_INPUT_MAX_CHARS, control characters shown as escapes. */
export function echoInput(value: string): string {
  return capText(
    value.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    ECHOED_INPUT_MAX_CHARS,
  );
}

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
}

export class EnclaveError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EnclaveError';
    this.code = code;
  }
  /** What crosses the process boundary; the message is capped, since some quote input (a file path, a name). */
  toInfo(): ErrorInfo {
    return { code: this.code, message: capText(this.message, ERROR_MESSAGE_MAX_CHARS) };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
