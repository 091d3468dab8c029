// Strings of the shell area (see ../index.ts).
export const shell = {} as const;
