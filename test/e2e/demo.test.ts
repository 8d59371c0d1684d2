/**
 * `npm run demo`, the README's main command, run as a person runs it (ts-node on
 * local/demo.ts, the bundled consumer), on the test bed's servers through
 * DATABASE_URL and AWS_ENDPOINT_URL. It must finish, and show the stored rows and
 * the dead-lettered message with its reason.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from '../../local/moto';
import { CONSUMER_BUNDLE } from '../../local/runner';
import { freshDatabase } from '../setup/test-bed';

jest.setTimeout(120_000);

test('the demo runs to completion on the servers it is given, and prints the stored events, the subscriber\'s, one chain, and the dead letter with its reason', async () => {
  if (!fs.existsSync(CONSUMER_BUNDLE)) throw new Error(`${CONSUMER_BUNDLE} is missing: run "npx projen bundle" first ("npx projen test" does)`);
  const env = { ...process.env, DATABASE_URL: await freshDatabase() };
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'ts-node'), ['--transpile-only', '--project', 'local/tsconfig.json', 'local/demo.ts'], {
      cwd: PROJECT_ROOT, env, timeout: 100_000, killSignal: 'SIGKILL',
    }, (err, out, text) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout: out, stderr: text }));
  });

  expect({ code, stderr: stderr.includes('demo failed') ? stderr : '' }).toEqual({ code: 0, stderr: '' });
  expect(stdout).not.toMatch(/starting PostgreSQL|starting moto/);
  expect(stdout).toMatch(/Stored events \(5\)/);
  expect(stdout).toMatch(/Dead-letter queue \(1\)/);
  expect(stdout).toMatch(/eventType: must be 1\.\.48 characters, got 49/);
  expect(stdout).toMatch(/5 events stored once each, the chain linked, the invalid message dead-lettered with its reason/);
  expect(stdout).toMatch(/The subscriber's queue \(\d+\), through the rule on the bus/);
  expect(stdout).toMatch(/payment\.payment_completed/);
  expect(stdout).toMatch(/read back with event_chain\('[0-9a-f-]{36}'\)/);
  expect(stdout).toMatch(/each stored event arrived at the subscriber's queue, and event_chain read the chain back/);
  expect(stdout).toMatch(/done\n$/);
});
