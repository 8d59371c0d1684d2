/**
 * bench/pipeline: events per second end to end through the local pipeline, at
 * batch sizes 10 and 100, and what limits them.
 *
 * For each batch size, in one run: a producer publishes EVENTS events with the
 * library's publishEvents (SendMessageBatch, two calls of 50 events at a time)
 * to moto's SQS, while the event-source runner (maxConcurrency 5, the construct's
 * default) feeds them to the bundled consumer on Node 24, which stores them in
 * PostgreSQL 16. The clock runs from the first send until the queue is drained.
 * The producer keeps at most maxConcurrency × batchSize messages in the queue (or
 * BACKLOG): enough for every slot to fill its batch, and no more, because moto's
 * DeleteMessage costs time in proportion to the queue's length (SQS's does not;
 * local/moto-server.py makes its sends and receives cost a constant), so an
 * unpaced producer would measure that, not the pipeline.
 *
 * Where the time goes, from measurements: the runner times each ReceiveMessage
 * that returned messages, invocation and DeleteMessageBatch; the consumer container
 * times its handler; the consumer's summary line gives its time in the database.
 * The rest of the slots' wall time is idle (empty polls, the runner's bookkeeping).
 * A ReceiveMessage that long-polls until messages arrive counts whole as receive,
 * waiting included, even when it started before the clock: on a short run the busy
 * shares can add up to more than 100 %.
 * The CPU time of moto, PostgreSQL and the containers comes from /proc. The
 * bottleneck named is the largest busy share: the emulator (receives and deletes),
 * the database (the consumer's statements), or the runner (IPC to the containers,
 * the consumer's own work).
 *
 *   npx projen bench:pipeline                 (EVENTS=3000 by default)
 */
import * as os from 'os';
import { performance } from 'perf_hooks';
import { SQSClient } from '@aws-sdk/client-sqs';
import { childrenRunning, cpuSeconds, serverOnPort } from './process-cpu';
import { startLocalPipeline, type LocalPipeline } from '../../local/pipeline';
import { onBatchSummary, type EventSourceMappingSettings, type RunnerTotals } from '../../local/runner';
import { startStandIns } from '../../local/stand-ins';
import { createTrackedEvent, publishEvents, type TrackedEvent } from '../../packages/kx-events-decorators/src';
import { machine } from '../machine';

const EVENTS = Number(process.env.EVENTS ?? 3000);
const WARMUP_EVENTS = 100;
const PUBLISH_CHUNK = 50;
const PUBLISHERS = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const CONFIGURATIONS: ReadonlyArray<{ readonly name: string; readonly settings: EventSourceMappingSettings }> = [
  { name: 'batch 10', settings: { batchSize: 10 } },
  { name: 'batch 100', settings: { batchSize: 100, maxBatchingWindowSeconds: 1 } },
];

interface Result {
  readonly name: string;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly publishSeconds: number;
  readonly meanBatch: number;
  readonly backlog: number;
  readonly slots: number;
  /** Milliseconds summed over the slots. */
  readonly time: Record<'receive' | 'delete' | 'database' | 'consumer' | 'ipc' | 'idle', number>;
  readonly cpu: Record<string, number | undefined>;
  readonly bottleneck: 'emulator' | 'database' | 'runner';
}

function events(count: number, run: string): TrackedEvent[] {
  return Array.from({ length: count }, (_, i) => createTrackedEvent('user', 'user_created', { clientId: `client-${i % 17}` }, undefined, {
    userId: `user_${i}`, source: 'bench', pointsAwarded: i % 100, sessionId: run, metadata: { i, plan: 'pro', tags: ['a', 'b'] },
  })!);
}

/** Publishes `all`, waiting while more than `backlog` of them are not stored yet. */
async function publish(sqs: SQSClient, queueUrl: string, all: readonly TrackedEvent[], backlog: number, stored: () => number): Promise<void> {
  let next = 0;
  const publisher = async () => {
    while (next < all.length) {
      if (next - stored() > backlog) {
        await sleep(5);
        continue;
      }
      const chunk = all.slice(next, next += PUBLISH_CHUNK);
      const { unpublished } = await publishEvents(chunk, { queueUrl, sqsClient: sqs, timeoutMs: 30_000 });
      if (unpublished) throw new Error(`${unpublished} events were not published`);
    }
  };
  await Promise.all(Array.from({ length: PUBLISHERS }, publisher));
}

function minus(after: RunnerTotals, before: RunnerTotals): RunnerTotals {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof RunnerTotals]])) as unknown as RunnerTotals;
}

async function measure(pipeline: LocalPipeline, name: string, settings: EventSourceMappingSettings): Promise<Result> {
  const runner = pipeline.runner(settings);
  let measuring = false;
  let dbMs = 0;
  onBatchSummary(runner, (summary) => {
    if (measuring) dbMs += summary.dbMs;
  });
  runner.on('warning', ({ message, error }) => process.stderr.write(`runner: ${message} ${error ? String(error) : ''}\n`));
  runner.start();
  let base = { ...runner.totals };
  const stored = () => runner.totals.succeeded - base.succeeded;
  const backlog = Number(process.env.BACKLOG ?? runner.settings.maxConcurrency * runner.settings.batchSize);
  // Warm every container first: cold starts are not throughput.
  await publish(pipeline.sqs, pipeline.queues.queueUrl, events(WARMUP_EVENTS, `${name} warm-up`), backlog, stored);
  await runner.drained({ timeoutMs: 120_000 });

  const cpuGroups = {
    moto: serverOnPort('moto', new URL(pipeline.awsEndpoint).port),
    postgres: serverOnPort('postgres', new URL(pipeline.databaseUrl).port || '5432'),
    containers: childrenRunning('lambda-container.ts'),
  };
  base = { ...runner.totals };
  const measured = { cpu: cpuSeconds(cpuGroups), self: process.cpuUsage() };
  const batch = events(EVENTS, name);
  measuring = true;
  const started = performance.now();
  await publish(pipeline.sqs, pipeline.queues.queueUrl, batch, backlog, stored);
  const publishSeconds = (performance.now() - started) / 1000;
  await runner.drained({ timeoutMs: 600_000, pollMs: 50 });
  const seconds = (performance.now() - started) / 1000;
  measuring = false;
  const cpuAfter = cpuSeconds(cpuGroups);
  const self = process.cpuUsage(measured.self);
  const t = minus(runner.totals, base);
  await runner.stop();
  if (t.succeeded < EVENTS) throw new Error(`only ${t.succeeded} of ${EVENTS} messages succeeded`);

  const slots = runner.settings.maxConcurrency;
  // Idle is the slots' time beside their calls. The runner's waitMs is not used: a batch reports the
  // empty polls before it when it ends, so the first batches count waits from before the clock
  // started, and the empty polls after the last batch are never reported.
  const busy = t.receiveMs + t.invokeMs + t.deleteMs;
  const time = {
    receive: t.receiveMs,
    delete: t.deleteMs,
    database: dbMs,
    consumer: t.handlerMs - dbMs,
    ipc: t.invokeMs - t.handlerMs,
    idle: Math.max(0, slots * seconds * 1000 - busy),
  };
  const shares = { emulator: time.receive + time.delete, database: time.database, runner: time.consumer + time.ipc };
  const bottleneck = (Object.keys(shares) as Array<keyof typeof shares>).reduce((a, b) => (shares[a] >= shares[b] ? a : b));
  const cpuUsed = (k: string, after: number | undefined) => {
    const start = measured.cpu[k];
    return after === undefined || start === undefined ? undefined : after - start;
  };
  const cpu = Object.fromEntries(Object.entries(cpuAfter).map(([k, after]) => [k, cpuUsed(k, after)]));
  return {
    name,
    seconds,
    eventsPerSecond: EVENTS / seconds,
    publishSeconds,
    meanBatch: t.messages / t.batches,
    backlog,
    slots,
    time,
    bottleneck,
    cpu: { ...cpu, 'bench process': (self.user + self.system) / 1e6 },
  };
}

function report(results: readonly Result[]): void {
  const pct = (ms: number, r: Result) => `${((100 * ms) / (r.slots * r.seconds * 1000)).toFixed(0).padStart(3)} %`;
  const col = (s: string) => s.padStart(14);
  const cores = os.cpus().length;
  const slots = results[0].slots;
  const lines = [
    `bench/pipeline: ${EVENTS} events, decorators' publishEvents → moto SQS → runner (maxConcurrency ${slots}) → bundled consumer (Node 24) → PostgreSQL 16`,
    machine(),
    '',
    `${''.padEnd(34)}${results.map((r) => col(r.name)).join('')}`,
    `${'end to end, events/s'.padEnd(34)}${results.map((r) => col(r.eventsPerSecond.toFixed(0))).join('')}`,
    `${'wall time, s'.padEnd(34)}${results.map((r) => col(r.seconds.toFixed(1))).join('')}`,
    `${'publishing alone took, s'.padEnd(34)}${results.map((r) => col(r.publishSeconds.toFixed(1))).join('')}`,
    `${'mean batch'.padEnd(34)}${results.map((r) => col(r.meanBatch.toFixed(1))).join('')}`,
    `${'producer keeps in the queue, max'.padEnd(34)}${results.map((r) => col(String(r.backlog))).join('')}`,
    '',
    `slot time (${slots} slots × wall time), measured:`,
    ...([
      ['receive', 'ReceiveMessage, returned messages'],
      ['delete', 'DeleteMessageBatch'],
      ['database', 'consumer in the database'],
      ['consumer', 'consumer, its own work'],
      ['ipc', 'runner ↔ container (IPC, JSON)'],
      ['idle', 'idle: empty polls, bookkeeping'],
    ] as const).map(([key, label]) => `  ${label.padEnd(32)}${results.map((r) => col(pct(r.time[key], r))).join('')}`),
    '',
    `CPU seconds during the run (${cores} cores: at most ${cores} per second of wall time; moto uses one core at most):`,
    ...['moto', 'postgres', 'containers', 'bench process'].map((k) =>
      `  ${k.padEnd(32)}${results.map((r) => col(r.cpu[k] === undefined ? 'n/a' : `${r.cpu[k]!.toFixed(1)} (${((100 * r.cpu[k]!) / r.seconds).toFixed(0)} %)`)).join('')}`),
    '',
    ...results.map((r) => `${r.name}: the bottleneck is the ${r.bottleneck}`
      + ` (emulator ${pct(r.time.receive + r.time.delete, r).trim()}, database ${pct(r.time.database, r).trim()},`
      + ` runner ${pct(r.time.consumer + r.time.ipc, r).trim()} of slot time; idle ${pct(r.time.idle, r).trim()})`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'pipeline', events: EVENTS, results })}\n`);
}

async function main(): Promise<void> {
  // One set of stand-ins; a queue of its own for each configuration, since a stopped
  // runner's abandoned long polls may still take messages from its queue for 20 s.
  const standIns = await startStandIns();
  const pipelines: LocalPipeline[] = [];
  const interrupt = () => void Promise.all(pipelines.map((p) => p.stop())).then(() => standIns.stop()).then(() => process.exit(130));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const results: Result[] = [];
    for (const { name, settings } of CONFIGURATIONS) {
      const pipeline = await startLocalPipeline({ name: 'kx-events-bench', databaseUrl: standIns.databaseUrl, awsEndpoint: standIns.awsEndpoint });
      pipelines.push(pipeline);
      try {
        results.push(await measure(pipeline, name, settings));
      } finally {
        await pipeline.stop();
      }
    }
    report(results);
  } finally {
    await standIns.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
