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
  'audit_write_failed',
  'audit_corrupt',
  'export_failed',
  'storage_failed',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

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
  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
