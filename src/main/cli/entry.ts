// Process entry of the `enclave` command.
import { scrubDangerousEnvironment } from '../core/child-environment.js';
import { runCli } from './main.js';

// Before any connection or child process: NODE_TLS_REJECT_UNAUTHORIZED, proxies and the like (core/child-environment.ts).
scrubDangerousEnvironment();

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`enclave: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
  },
);
