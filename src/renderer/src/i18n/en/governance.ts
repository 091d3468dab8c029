// Strings of the governance area (see ../index.ts).
export const governance = {
  attestation: {
    title: 'Acceptable use',
    intro: '{{name}}, before you use Enclave, read the statement below from {{institution}} and accept it.',
    lastAccepted: 'You last accepted an acceptable-use statement on {{date}}.',
    statementLabel: 'Acceptable-use statement',
    accept: 'I accept',
    decline: 'Decline and sign out',
    declineHint: 'Your answer is recorded. If you decline, you are signed out and can sign in again later.',
  },
} as const;
