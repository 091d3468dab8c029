// Front door of the CLI service.
export { runCli, type CliContext, type CliIo } from './main.js';
