/**
 * bench/decorator: what kx-events-decorators adds to a handler that publishes one event.
 *
 * In one run, against moto's SQS (started here), through one SQS client, alternating call by call:
 *   bare:      the handler builds the event by hand and awaits the SDK's SendMessage itself;
 *   decorated: the same handler, wrapped by withEventTracking, which extracts, validates, bounds
 *              the send with its deadline, and awaits the same SendMessage.
 * For each call it records the wall time, the time spent inside the SDK's send (an outermost SDK
 * middleware times it), and the CPU time of the main thread (of the process before Node 23.9). The time outside the send is each side's own
 * work; the decorated side's minus the bare side's is what the library adds, free of the network's
 * and the emulator's jitter, which the end-to-end percentiles (also printed) are full of.
 *
 *   npx projen bench:decorator                      (ITERATIONS=3000 by default)
 */
import { randomUUID } from 'crypto';
import * as path from 'path';
import { useLocalAws } from '../../local/aws';
import { startMoto } from '../../local/moto';
import { withEventTracking } from '../../packages/kx-events-decorators/src';
import { machine } from '../machine';

// Both sides use the SDK copy that the library resolves: a command from one copy sent through a
// client from another costs more per call, which would be charged to the wrong side.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CreateQueueCommand, SendMessageCommand, SQSClient } = require(require.resolve('@aws-sdk/client-sqs', {
  paths: [path.join(__dirname, '..', '..', 'packages', 'kx-events-decorators')],
})) as typeof import('@aws-sdk/client-sqs');

const ITERATIONS = Number(process.env.ITERATIONS ?? 3000);
const WARMUP = 300;
const QUEUE_CALLS = 250;
const TARGET_MS = 0.2;

interface Sample {
  /** Wall time of the call. */
  readonly ms: number;
  /** Wall time outside the SDK's send: the handler's, or the library's, own work. */
  readonly outsideSendMs: number;
  readonly cpuUs: number;
}

/** Time spent inside `sqs.send` during the current call, in nanoseconds. */
let sendNs = 0n;

type Invoke = () => Promise<unknown>;

async function main(): Promise<void> {
  const moto = await startMoto();
  try {
    useLocalAws(moto.endpoint);
    const sqs = new SQSClient({});
    sqs.middlewareStack.add((next) => async (args) => {
      const started = process.hrtime.bigint();
      try {
        return await next(args);
      } finally {
        sendNs += process.hrtime.bigint() - started;
      }
    }, { step: 'initialize', priority: 'high', name: 'timeSend' });
    // moto's SendMessage slows down as a queue grows: every QUEUE_CALLS calls, both sides move to a new queue.
    const newQueue = async () => (await sqs.send(new CreateQueueCommand({ QueueName: `bench-decorator-${randomUUID().slice(0, 8)}` }))).QueueUrl!;
    let queueUrl = await newQueue();

    const request = { headers: { 'X-Client-Id': 'acme' }, body: JSON.stringify({ name: 'Ada' }) };
    const result = { statusCode: 201, body: '{"success":true}' };

    // The handler's own work is nothing: what remains is the event and the send.
    const bare = async (event: typeof request) => {
      const tracked = {
        eventId: randomUUID(),
        clientId: event.headers['X-Client-Id'],
        entityType: 'user',
        eventType: 'user_created',
        occurredAt: new Date().toISOString(),
        source: 'api',
        pointsAwarded: 100,
      };
      await sqs.send(new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(tracked),
        MessageAttributes: {
          eventType: { DataType: 'String', StringValue: tracked.eventType },
          entityType: { DataType: 'String', StringValue: tracked.entityType },
          clientId: { DataType: 'String', StringValue: tracked.clientId },
        },
      }));
      return result;
    };
    const options = { queueUrl, sqsClient: sqs, timeoutMs: 30_000 }; // a deadline never reached: this measures the work
    const decorated = withEventTracking(async (_event: typeof request) => result, 'user', 'user_created',
      { source: 'api', pointsAwarded: 100 }, options);

    const sides: Record<'bare' | 'decorated', Invoke> = { bare: () => bare(request), decorated: () => decorated(request) };
    for (let i = 0; i < WARMUP; i++) {
      await sides.bare();
      await sides.decorated();
    }
    const samples: Record<'bare' | 'decorated', Sample[]> = { bare: [], decorated: [] };
    for (let i = 0; i < ITERATIONS; i++) {
      if (i % QUEUE_CALLS === 0) options.queueUrl = queueUrl = await newQueue();
      // Alternate which side goes first, so that neither always follows the other.
      const order = i % 2 === 0 ? (['bare', 'decorated'] as const) : (['decorated', 'bare'] as const);
      for (const side of order) samples[side].push(await measure(sides[side]));
    }
    report(samples.bare, samples.decorated);
  } finally {
    await moto.stop();
  }
}

/**
 * CPU time of the main thread (Node 23.9+), where the handler and the library run; else of the
 * whole process, which also counts the garbage collector's and the compiler's background threads.
 */
const threadCpuUsage = (process as { threadCpuUsage?: (previous?: NodeJS.CpuUsage) => NodeJS.CpuUsage }).threadCpuUsage;
const cpuUsage: (previous?: NodeJS.CpuUsage) => NodeJS.CpuUsage = threadCpuUsage ? threadCpuUsage.bind(process) : process.cpuUsage.bind(process);
const CPU_SCOPE = threadCpuUsage ? 'main thread' : 'process';

async function measure(invoke: Invoke): Promise<Sample> {
  sendNs = 0n;
  const cpu = cpuUsage();
  const started = process.hrtime.bigint();
  await invoke();
  const elapsedNs = process.hrtime.bigint() - started;
  const used = cpuUsage(cpu);
  return { ms: Number(elapsedNs) / 1e6, outsideSendMs: Number(elapsedNs - sendNs) / 1e6, cpuUs: used.user + used.system };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function report(bare: Sample[], decorated: Sample[]): void {
  const of = (samples: Sample[], key: 'ms' | 'outsideSendMs') => samples.map((sample) => sample[key]);
  const cpuMs = (samples: Sample[]) => mean(samples.map((sample) => sample.cpuUs)) / 1000;
  const row = (samples: Sample[]) => ({
    p50: percentile(of(samples, 'ms'), 50),
    p99: percentile(of(samples, 'ms'), 99),
    ownP50: percentile(of(samples, 'outsideSendMs'), 50),
    ownP99: percentile(of(samples, 'outsideSendMs'), 99),
    cpu: cpuMs(samples),
  });
  const b = row(bare);
  const d = row(decorated);
  const added = { p50: d.ownP50 - b.ownP50, p99: d.ownP99 - b.ownP99, cpu: d.cpu - b.cpu };
  const f = (value: number) => `${value.toFixed(3)} ms`.padStart(11);
  const lines = [
    `bench/decorator: a decorated handler vs the same handler calling SendMessage itself, ${ITERATIONS} calls each, alternating, moto's SQS`,
    machine(),
    '',
    `               outside the send        end to end              CPU (${CPU_SCOPE})`,
    '               p50         p99         p50         p99         per call',
    `bare SDK       ${f(b.ownP50)} ${f(b.ownP99)} ${f(b.p50)} ${f(b.p99)} ${f(b.cpu)}`,
    `decorated      ${f(d.ownP50)} ${f(d.ownP99)} ${f(d.p50)} ${f(d.p99)} ${f(d.cpu)}`,
    `added          ${f(added.p50)} ${f(added.p99)} ${''.padStart(11)} ${''.padStart(11)} ${f(added.cpu)}`,
    '',
    `target: the library adds under ${TARGET_MS} ms per call → p50 ${verdict(added.p50)}, p99 ${verdict(added.p99)}, CPU ${verdict(added.cpu)}`,
    'End-to-end percentiles are mostly the emulator and the network: compare them, do not subtract them.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'decorator', iterations: ITERATIONS, cpuScope: CPU_SCOPE, bare: b, decorated: d, added })}\n`);
}

function verdict(addedMs: number): string {
  return addedMs < TARGET_MS ? 'met' : 'NOT met';
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
