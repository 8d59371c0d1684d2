#!/usr/bin/env node
/** The `kx-events` bin. */
import { run } from './run';
import { processTerminal } from './terminal';

void run(process.argv.slice(2), processTerminal()).then((code) => { process.exitCode = code; });
