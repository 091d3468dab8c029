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

/** `openssl x509 -req` arguments that sign a CSR with a CA's certificate and key (SHA-256, 825 days), with extensions from a config section. */
export function signCsrArgs(options: { csr: string; caCert: string; caKey: string; serial: string; config: string; extensions: string; out: string }): string[] {
  const { csr, caCert, caKey, serial, config, extensions, out } = options;
  return ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial', serial, '-days', '825', '-sha256', '-extfile', config, '-extensions', extensions, '-out', out];
}
