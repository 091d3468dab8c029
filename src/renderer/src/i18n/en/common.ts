// Strings shared by every area: buttons and words that mean the same everywhere (see ../index.ts).
export const common = {
  close: 'Close',
  cancel: 'Cancel',
  copy: 'Copy',
  copied: 'Copied',
  none: '—',
  role: {
    clinician: 'Clinician',
    researcher: 'Researcher',
    compliance: 'Compliance',
    administrator: 'Administrator',
  },
  evaluation: {
    label: 'Evaluation mode',
    title: 'EVALUATION — NOT FOR PATIENT DATA',
    detail: 'No managed policy is installed. Use test data only.',
  },
  breakGlass: {
    label: 'Emergency access',
    title: 'EMERGENCY ACCESS (BREAK-GLASS)',
    detail: 'Ends at {{time}}. Your stated reason is recorded; every action is reviewed.',
  },
  brand: {
    // The product's name is not translated; it is here so the pseudo-locale shows it comes from the catalog.
    name: 'Enclave',
  },
  connection: {
    missing: 'The connection to Enclave is not available. Restart the application.',
    noAnswer: 'Enclave did not answer: {{detail}}',
  },
} as const;
