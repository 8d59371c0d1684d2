export { run, HELP } from './run';
export type { Terminal } from './terminal';
