// The D-Bus message model and wire constants (D-Bus specification, "Message Protocol").

/** D-Bus caps a message at 128 MiB; nothing Enclave listens for comes near 1 MiB. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
export const MAX_NESTING = 32;

export const MessageType = { METHOD_CALL: 1, METHOD_RETURN: 2, ERROR: 3, SIGNAL: 4 } as const;
export const FLAG_NO_REPLY_EXPECTED = 0x1;
export const FIELD = { PATH: 1, INTERFACE: 2, MEMBER: 3, ERROR_NAME: 4, REPLY_SERIAL: 5, DESTINATION: 6, SENDER: 7, SIGNATURE: 8, UNIX_FDS: 9 } as const;

export type DbusValue = string | number | bigint | boolean | DbusValue[] | { signature: string; value: DbusValue };

export interface DbusMessage {
  type: number;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature: string;
  body: DbusValue[];
}

/** Something went wrong on the bus; `dbusName` is the D-Bus error name when the peer answered with one. */
export class DbusError extends Error {
  constructor(
    message: string,
    readonly dbusName?: string,
  ) {
    super(message);
    this.name = 'DbusError';
  }
}

/** A message to send: the bus gives the serial and the sender. */
export type OutgoingMessage = Partial<Omit<DbusMessage, 'type' | 'serial' | 'sender'>> & { type: number };
