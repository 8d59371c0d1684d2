/**
 * bench/consumer: how fast the consumer stores events, beside the two peers that bound it.
 *
 * In one run, on the local pipeline's PostgreSQL 16 (and moto for the secret and the DLQ; local/pipeline.ts
 * starts both, or uses DATABASE_URL and AWS_ENDPOINT_URL, whose events table is then emptied), at batch
 * sizes 10, 100 and 1000, each method loads the same events into an emptied `events` table:
 *   consumer: the bundled handler (assets/lambda/consumer.lambda/index.js), invoked with SQSEvents:
 *             parse and validate each message with the contract while COPY streams the new events in
 *             (an event already stored sends the batch through its INSERT … ON CONFLICT instead);
 *   naive:    what a per-record batch processor does: parse, validate, one INSERT per message;
 *   COPY:     parse the batch, then one COPY … FROM STDIN of its text, without validation or conflict handling;
 *   COPY-s:   the consumer's own COPY (copyEvents), streaming the rows as they are parsed, without validation,
 *             links or conflict handling: the limit of the consumer's method;
 *   redelivered: the consumer again, on batches whose first event is already stored (stored before the
 *             clock starts): COPY refuses, and the batch takes the INSERT … ON CONFLICT path;
 *   fan-out:  the consumer with fan-out on, putting every stored event to an EventBridge bus: moto's, without
 *             a rule (what its PutEvents request costs is in the figure);
 *   fan-out*: the same, to a PutEvents endpoint that answers at once (local, AWS_ENDPOINT_URL_EVENTBRIDGE):
 *             what the fan-out costs the consumer itself.
 * The events are what the decorators publish: every field, a small metadata object, no previousEventId.
 * The methods take turns, ROUNDS times, each time on an emptied table; each figure is the best of
 * its rounds, which filters out the noise of other work on a shared machine.
 * Also prints the bundle's size and its cold `require` time on Node 24 (the Lambda runtime's major).
 *
 *   npx projen bench:consumer                 (EVENTS=5000 per round, ROUNDS=3 by default)
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { Client } from 'pg';
import { columnText, copyEvents, eventRow, type EventRow } from '../../lambda/lib/events-table';
import { PROJECT_ROOT } from '../../local/moto';
import { startLocalPipeline } from '../../local/pipeline';
import { CONSUMER_BUNDLE, NODE_24 } from '../../local/runner';
import { validateTrackedEvent, type TrackedEvent } from '../../packages/kx-events-decorators/src/contract';
import { sqsRecord, trackedEvent } from '../../test/consumer/fixtures';
import { assertAllDone, copyInsert, fmt, linkedRow, loadConsumer, parsedRow } from '../lib';

const EVENTS = Number(process.env.EVENTS ?? 5_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const BATCH_SIZES = [10, 100, 1000];
const COLD_REQUIRE_RUNS = 15;

type Load = (records: SQSRecord[]) => Promise<void>;

interface Method {
  readonly load: Load;
  /** Store each batch's first event before the clock starts, as a redelivery finds it. */
  readonly firstStored?: boolean;
}

async function main(): Promise<void> {
  // The local pipeline's database (migrated), secret and dead-letter queue; its events queue is not used.
  const pipeline = await startLocalPipeline({ name: 'kx-events-bench' });
  const db = new Client({ connectionString: pipeline.databaseUrl });
  const instantBus = await instantPutEvents();
  try {
    await db.connect();
    const env = pipeline.consumerEnvironment;
    const { EventBusArn } = await new EventBridgeClient({}).send(new CreateEventBusCommand({ Name: `kx-events-bench-${Date.now()}` }));
    const fanOutEnv = { ...env, EVENT_BUS_NAME: EventBusArn! };

    // The SDK reads AWS_ENDPOINT_URL_EVENTBRIDGE when its client sends: each consumer has it as its own container would.
    // A fan-out the bus did not take in time leaves its messages for redelivery (their rows are stored): counted, not fatal.
    const unputMessages: Record<string, number> = { 'fan-out': 0, 'fan-out*': 0 };
    type Consumer = (event: SQSEvent) => Promise<SQSBatchResponse>;
    const loaded = (consumer: Consumer, eventBridgeEndpoint?: string, fanOut?: string): Load => async (records) => {
      if (eventBridgeEndpoint) process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = eventBridgeEndpoint;
      else delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
      const response = await consumer({ Records: records });
      if (fanOut) unputMessages[fanOut] += response.batchItemFailures.length;
      else assertAllDone(response);
    };
    const consume = loaded(loadConsumer(env));
    const methods: Record<string, Method> = {
      'consumer': { load: consume },
      'naive': { load: (records) => naiveInsert(db, records) },
      'COPY': { load: (records) => copyInsert(db, records) },
      'COPY-s': { load: (records) => copyEvents(db, parsedRows(records)) },
      'redelivered': { load: consume, firstStored: true },
      'fan-out': { load: loaded(loadConsumer(fanOutEnv), undefined, 'fan-out') },
      'fan-out*': { load: loaded(loadConsumer(fanOutEnv), instantBus.endpoint, 'fan-out*') },
    };

    console.log(`bench/consumer: ${EVENTS} events a round, best of ${ROUNDS} rounds; ${os.cpus().length} cores, Node ${process.version}, PostgreSQL 16`);
    console.log('');
    console.log('batch  consumer ev/s  naive ev/s   COPY ev/s COPY-s ev/s  consumer/naive  consumer/COPY  consumer/COPY-s'
      + '  redelivered ev/s  fan-out ev/s  fan-out* ev/s  fan-out*/consumer'
      + '  client CPU µs/event (consumer, naive, COPY, COPY-s, redelivered, fan-out, fan-out*)');
    for (const size of BATCH_SIZES) {
      const best: Record<string, Run> = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, method] of Object.entries(methods)) {
          const run = await loadEvents(db, method, size);
          if (!best[name] || run.rate > best[name].rate) best[name] = run;
        }
      }
      const { consumer: c, naive: n, COPY: copy, 'COPY-s': copyStreamed, redelivered, 'fan-out': fanOut, 'fan-out*': fanOutInstant } = best;
      console.log([
        String(size).padStart(5),
        fmt(c.rate).padStart(14),
        fmt(n.rate).padStart(11),
        fmt(copy.rate).padStart(11),
        fmt(copyStreamed.rate).padStart(11),
        `${(c.rate / n.rate).toFixed(2)}×`.padStart(15),
        `${(c.rate / copy.rate).toFixed(2)}×`.padStart(14),
        `${(c.rate / copyStreamed.rate).toFixed(2)}×`.padStart(16),
        fmt(redelivered.rate).padStart(17),
        fmt(fanOut.rate).padStart(13),
        fmt(fanOutInstant.rate).padStart(14),
        `${(fanOutInstant.rate / c.rate).toFixed(2)}×`.padStart(18),
        `  ${[c, n, copy, copyStreamed, redelivered, fanOut, fanOutInstant].map((r) => r.cpuUs.toFixed(1)).join(', ')}`,
      ].join(' '));
    }
    console.log('');
    console.log('targets: consumer ≥ 3.5× naive at batch 10; consumer ≥ 0.9× COPY at batch 1000');
    console.log(`fan-out*: ${instantBus.requests()} PutEvents requests to the instant endpoint; messages left for redelivery because the bus did not take`
      + ` their events in time: fan-out ${unputMessages['fan-out']}, fan-out* ${unputMessages['fan-out*']}`);
    console.log('');
    const bytes = fs.statSync(CONSUMER_BUNDLE).size;
    const cold = coldRequire(env);
    console.log(`bundle: ${path.relative(PROJECT_ROOT, CONSUMER_BUNDLE)} ${(bytes / 1024).toFixed(1)} KiB (target ≤ 400 KB)`);
    console.log(`cold require on Node ${execFileSync(NODE_24, ['--version']).toString().trim()}: median ${cold.require.toFixed(1)} ms of ${COLD_REQUIRE_RUNS} (target < 80 ms);`
      + ` the SDK clients it loads on first use add ${cold.sdk.toFixed(1)} ms to the first invocation`);
  } finally {
    await db.end().catch(() => undefined);
    instantBus.server.close();
    await pipeline.stop();
  }
}

/** A PutEvents endpoint that takes every entry at once: what EventBridge's own time would be, at zero. */
async function instantPutEvents(): Promise<{ endpoint: string; server: http.Server; requests: () => number }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests++;
      const { Entries = [] } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { Entries?: unknown[] };
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ FailedEntryCount: 0, Entries: Entries.map((_, i) => ({ EventId: String(i) })) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests: () => requests };
}

interface Run {
  /** Events per second, wall clock. */
  readonly rate: number;
  /** This process's CPU time per event (parsing, validating, building the statement), in µs. */
  readonly cpuUs: number;
}

/** Loads EVENTS events in batches of `size` into an emptied table. */
async function loadEvents(db: Client, { load, firstStored }: Method, size: number): Promise<Run> {
  await db.query('TRUNCATE events, event_claims');
  const batches: SQSRecord[][] = [];
  for (let i = 0; i < EVENTS; i += size) batches.push(Array.from({ length: Math.min(size, EVENTS - i) }, eventRecord));
  if (firstStored) await copyEvents(db, batches.map((batch) => parsedRow(batch[0])));
  await load(Array.from({ length: size }, eventRecord)); // warm-up
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (const batch of batches) await load(batch);
  const seconds = (performance.now() - start) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  const stored = (await db.query('SELECT count(*)::int AS n FROM events')).rows[0].n;
  if (stored !== EVENTS + size) throw new Error(`expected ${EVENTS + size} rows, found ${stored}`);
  return { rate: EVENTS / seconds, cpuUs: (user + system) / EVENTS };
}

/** The rows, each parsed as it is taken. */
function* parsedRows(records: SQSRecord[]): Generator<EventRow> {
  for (const record of records) yield parsedRow(record);
}

const COLUMNS = Object.keys(eventRow(trackedEvent() as unknown as TrackedEvent, { previous: null, claimed: null })) as Array<keyof EventRow>;

const NAIVE_INSERT = `INSERT INTO events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT (event_id, occurred_at) DO NOTHING`;

/** A per-record processor: each message parsed once, validated and inserted on its own. */
async function naiveInsert(db: Client, records: SQSRecord[]): Promise<void> {
  for (const record of records) {
    const event: unknown = JSON.parse(record.body);
    if (validateTrackedEvent(event).length > 0) throw new Error('invalid event in the benchmark');
    const row = linkedRow(event as TrackedEvent);
    await db.query(NAIVE_INSERT, COLUMNS.map((name) => columnText(row, name)));
  }
}

/** Median time to require the bundle in a fresh Node 24, and then the SDK clients it loads lazily. */
function coldRequire(env: Readonly<Record<string, string>>): { require: number; sdk: number } {
  const script = `
    const t0 = process.hrtime.bigint();
    require(${JSON.stringify(CONSUMER_BUNDLE)});
    const t1 = process.hrtime.bigint();
    require('@aws-sdk/client-secrets-manager');
    const t2 = process.hrtime.bigint();
    console.log(JSON.stringify({ require: Number(t1 - t0) / 1e6, sdk: Number(t2 - t1) / 1e6 }));`;
  const runs = Array.from({ length: COLD_REQUIRE_RUNS }, () => JSON.parse(execFileSync(NODE_24, ['-e', script], {
    cwd: PROJECT_ROOT, env: { ...process.env, ...env },
  }).toString()) as { require: number; sdk: number });
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return { require: median(runs.map((r) => r.require)), sdk: median(runs.map((r) => r.sdk)) };
}

/** A message as the decorators publish it, for a varied population of clients and users. */
function eventRecord(): SQSRecord {
  const n = Math.floor(Math.random() * 100_000);
  return sqsRecord(JSON.stringify(trackedEvent({ clientId: `client-${n % 50}`, userId: `user-${n % 5000}`, entityId: `order-${n}` })));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
