// Strings of the governance area (see ../index.ts).
export const governance = {} as const;
