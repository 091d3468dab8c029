// openssl command lines the tests' certificate fixtures share.

/** A new EC P-256 key, unencrypted, for `openssl req`. */
export const EC_P256_NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** `openssl req` arguments for a self-signed CA (EC P-256, 365 days), written to <name>.key and <name>.pem in the working folder. */
export function selfSignedCaArgs(name: string, commonName: string): string[] {
  return [
    'req',
    '-x509',
    ...EC_P256_NEW_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '365',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ];
}
