// Front door of the CLI service.
export { runCli, type CliIo } from './main.js';
