import packageJson from '../../../package.json' with { type: 'json' };

export const ENCLAVE_VERSION: string = packageJson.version;
