// Strings shared by every area: buttons and words that mean the same everywhere (see ../index.ts).
export const common = {
  close: 'Close',
  cancel: 'Cancel',
} as const;
