// Strings of the model setup screen and the model-loading line (see ../index.ts).
export const model = {
  phase: {
    verifying: 'Checking model file…',
    loading: 'Loading the model…',
    ready: 'Model ready.',
    failed: 'The model failed to load.',
  },
  loadingLabel: 'Model loading',
  none: {
    title: 'No model is configured',
    admin: 'An administrator must choose the model for this workstation before Enclave can be used.',
    policy: 'The policy ({{source}}) lists no model this workstation may load. Ask IT to deploy one.',
  },
  setup: {
    title: 'Choose a model',
    intro:
      'No model is configured yet. In evaluation mode you can use a GGUF file on this workstation or generate a small test model. Enclave records the file’s SHA-256 and refuses to load it if the file changes.',
    fileTitle: 'Use a model file',
    fileLabel: 'GGUF file path',
    filePlaceholder: '/path/to/model.gguf',
    fileHint: 'The full path of a .gguf file readable by this user.',
    fileSubmit: 'Add model file',
    fileBusy: 'Checking the file…',
    testTitle: 'Generate a test model',
    testIntro: 'Creates a tiny model in the real GGUF format so you can try every screen without a real model.',
    testWarning: 'The test model has <strong>random weights: its output is noise</strong>, not language and never medical information.',
    testSubmit: 'Generate test model',
    testBusy: 'Generating test model…',
  },
} as const;
