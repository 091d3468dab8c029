// Strings of the chat area (see ../index.ts).
export const chat = {} as const;
