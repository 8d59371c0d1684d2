/**
 * The local event-source runner: Lambda's SQS event source mapping, on one machine.
 *
 * Each concurrency slot is a poller and a warm container (local/lambda-container.ts:
 * a child process on Node 24 that runs the bundled handler). A slot long-polls the
 * queue and collects a batch: up to batchSize messages, within the batching window,
 * under Lambda's 6 MB payload limit. It builds the SQSEvent as Lambda does, invokes
 * the handler, deletes the messages that succeeded, and leaves the reported
 * batchItemFailures to the visibility timeout and the redrive policy. An invocation
 * that fails, times out or crashes its container leaves the whole batch for
 * redelivery; a crashed container is replaced by a new one (a cold start).
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomUUID } from 'crypto';
import { EventEmitter } from 'events';
import * as path from 'path';
import { createInterface } from 'readline';
import {
  DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient,
  type Message, type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSMessageAttribute, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { LOCAL_REGION } from './aws';
import type { ContainerReply, InvocationError, InvokeRequest } from './lambda-container';
import { PROJECT_ROOT } from './moto';
import type { BatchCounts } from '../lambda/lib/telemetry';

/** The consumer as the library ships it: the esbuild bundle in the construct's asset. */
export const CONSUMER_BUNDLE = path.join(PROJECT_ROOT, 'assets', 'lambda', 'consumer.lambda', 'index.js');
/** The migration (the schema custom resource's handler), as the library ships it. */
export const MIGRATE_BUNDLE = path.join(PROJECT_ROOT, 'assets', 'lambda', 'migrate.lambda', 'index.js');
/** Node 24, the deployed runtime's major, from the `node` npm package. */
export const NODE_24 = path.join(PROJECT_ROOT, 'node_modules', 'node', 'bin', 'node');
const CONTAINER = path.join(__dirname, 'lambda-container.ts');
/** The function as the runner presents it to the handler. */
const FUNCTION_NAME = 'kx-events-consumer';
const HANDLER_EXPORT = 'handler';
/** Reported to the function as its memory size (not enforced), as KxEventsPipeline's default consumerMemorySize. */
const MEMORY_SIZE_MB = 512;

/** Lambda's limits for an SQS event source mapping. */
const MAX_BATCH_SIZE = 10_000;
const MAX_BATCHING_WINDOW_SECONDS = 300;
const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** The largest SQS message (256 KiB) and room for its record's envelope. */
const MAX_RECORD_BYTES = 256 * 1024 + 4 * 1024;
const MAX_RECEIVE = 10;
const LONG_POLL_SECONDS = 20;
/** Lambda's limit on a function's init phase; beyond it, init counts against the function's timeout. */
const INIT_LIMIT_MS = 10_000;

/** The settings of the construct's event source mapping, with its defaults. */
export interface EventSourceMappingSettings {
  /** Messages per invocation, 1..10,000; above 10 needs a batching window. @default 10 */
  readonly batchSize?: number;
  /** Seconds spent gathering a batch, 0..300. @default 0 */
  readonly maxBatchingWindowSeconds?: number;
  /** Concurrent invocations, 2..1,000. @default 5 */
  readonly maxConcurrency?: number;
  /** The function's timeout; a longer invocation is ended and its batch left. @default 30, as KxEventsPipeline's consumerTimeout */
  readonly functionTimeoutSeconds?: number;
}

export interface EventSourceRunnerOptions extends EventSourceMappingSettings {
  readonly queueUrl: string;
  readonly queueArn: string;
  /** The function's environment variables, as the construct sets them. */
  readonly environment: Readonly<Record<string, string>>;
  /** A bundle exporting `handler`. @default CONSUMER_BUNDLE */
  readonly bundle?: string;
  /** The AWS stand-in the function talks to. @default process.env.AWS_ENDPOINT_URL */
  readonly awsEndpoint?: string;
}

export type InvocationOutcome = 'succeeded' | 'partial' | 'failed' | 'crashed' | 'timed-out';

/** One batch, from its first receive to its deletes. */
export interface BatchReport {
  readonly slot: number;
  readonly pid: number | undefined;
  readonly size: number;
  readonly outcome: InvocationOutcome;
  /** Deleted from the queue. */
  readonly succeeded: number;
  /** Left to the visibility timeout and the redrive policy. */
  readonly failed: number;
  /** The container was started for this batch. */
  readonly coldStart: boolean;
  /** In ReceiveMessage calls that returned messages. */
  readonly receiveMs: number;
  /** In ReceiveMessage calls that returned none: the slot waited for work. */
  readonly waitMs: number;
  /** From sending the batch to the container to its reply (includes a cold start). */
  readonly invokeMs: number;
  /** The handler's own time, measured in the container. */
  readonly handlerMs: number | undefined;
  readonly deleteMs: number;
  readonly error?: InvocationError;
}

export interface InvocationStart {
  readonly slot: number;
  readonly pid: number;
  readonly messageIds: readonly string[];
}

/** A line the function wrote, as CloudWatch Logs would receive it. */
export interface FunctionLogLine {
  readonly slot: number;
  readonly pid: number;
  readonly stream: 'stdout' | 'stderr';
  readonly line: string;
}

export interface RunnerWarning {
  readonly message: string;
  readonly error?: unknown;
}

export interface EventSourceRunnerEvents {
  invoke: [InvocationStart];
  batch: [BatchReport];
  log: [FunctionLogLine];
  warning: [RunnerWarning];
}

export interface RunnerTotals {
  batches: number;
  messages: number;
  succeeded: number;
  failed: number;
  crashes: number;
  timeouts: number;
  coldStarts: number;
  receiveMs: number;
  waitMs: number;
  invokeMs: number;
  handlerMs: number;
  deleteMs: number;
}

export class EventSourceMappingSettingsError extends Error {
  public override readonly name = 'EventSourceMappingSettingsError';
  constructor(public readonly data: { readonly problems: readonly string[] }) {
    super(`Invalid event source mapping settings: ${data.problems.join('; ')}`);
  }
}

export interface QueueBacklog {
  readonly queueUrl: string;
  readonly timeoutMs: number;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  readonly busySlots: number;
}

export class QueueNotDrainedError extends Error {
  public override readonly name = 'QueueNotDrainedError';
  constructor(public readonly data: QueueBacklog) {
    super(`${data.queueUrl} still holds messages after ${data.timeoutMs} ms: `
      + `${data.visible} visible, ${data.inFlight} in flight, ${data.delayed} delayed; ${data.busySlots} batches running`);
  }
}

/** The consumer's summary of a batch, when the function's log line is one (lambda/lib/telemetry's logBatch). */
export function batchSummary(line: string): BatchCounts | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { message?: unknown } & BatchCounts;
    return entry.message === 'batch' ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Calls `listener` with the consumer's summary of each batch, as the runner passes its log on. */
export function onBatchSummary(runner: EventSourceRunner, listener: (summary: BatchCounts) => void): void {
  runner.on('log', ({ line }) => {
    const summary = batchSummary(line);
    if (summary) listener(summary);
  });
}

/** Validates the settings as Lambda does, and fills in the construct's defaults. */
function mappingSettings(settings: EventSourceMappingSettings): Required<EventSourceMappingSettings> {
  const resolved = {
    batchSize: settings.batchSize ?? 10,
    maxBatchingWindowSeconds: settings.maxBatchingWindowSeconds ?? 0,
    maxConcurrency: settings.maxConcurrency ?? 5,
    functionTimeoutSeconds: settings.functionTimeoutSeconds ?? 30,
  };
  const problems: string[] = [];
  const check = (name: keyof typeof resolved, min: number, max: number) => {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  };
  check('batchSize', 1, MAX_BATCH_SIZE);
  check('maxBatchingWindowSeconds', 0, MAX_BATCHING_WINDOW_SECONDS);
  check('maxConcurrency', 2, 1000);
  check('functionTimeoutSeconds', 1, 900);
  if (resolved.batchSize > MAX_RECEIVE && resolved.maxBatchingWindowSeconds < 1) {
    problems.push(`maxBatchingWindowSeconds must be at least 1 when batchSize is greater than ${MAX_RECEIVE}, got ${resolved.maxBatchingWindowSeconds} with batchSize ${resolved.batchSize}`);
  }
  if (problems.length) throw new EventSourceMappingSettingsError({ problems });
  return resolved;
}

/** The record Lambda builds from a received message. */
function toSqsRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, lambdaAttribute(value)]));
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: { ...message.Attributes } as unknown as SQSRecordAttributes,
    messageAttributes: attributes,
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    md5OfBody: message.MD5OfBody!,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3],
  };
}

function lambdaAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  return {
    ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined ? { binaryValue: base64(value.BinaryValue) } : {}),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType!,
  };
}

/**
 * The message ids a batch response reports as failed, by Lambda's rules: no
 * response, or no or an empty batchItemFailures, is a complete success; an
 * itemIdentifier that is missing, empty or not in the batch fails the whole batch.
 */
export function failedMessageIds(records: readonly SQSRecord[], response: unknown): Set<string> {
  const all = new Set(records.map((r) => r.messageId));
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object') return all;
  const failures = (response as Partial<SQSBatchResponse>).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return all;
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A batch gathered by one slot, and the time its receives took. */
interface Collected {
  readonly records: SQSRecord[];
  readonly receiveMs: number;
  readonly waitMs: number;
}

export class EventSourceRunner extends EventEmitter<EventSourceRunnerEvents> {
  public readonly settings: Required<EventSourceMappingSettings>;
  public readonly totals: RunnerTotals = {
    batches: 0,
    messages: 0,
    succeeded: 0,
    failed: 0,
    crashes: 0,
    timeouts: 0,
    coldStarts: 0,
    receiveMs: 0,
    waitMs: 0,
    invokeMs: 0,
    handlerMs: 0,
    deleteMs: 0,
  };
  private readonly sqs: SQSClient;
  private readonly containers: WarmContainer[];
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private running = false;
  private busySlots = 0;

  constructor(private readonly options: EventSourceRunnerOptions) {
    super();
    this.settings = mappingSettings(options);
    const endpoint = options.awsEndpoint ?? process.env.AWS_ENDPOINT_URL;
    if (!endpoint) {
      throw new EventSourceMappingSettingsError({
        problems: ['awsEndpoint (or AWS_ENDPOINT_URL) must name the local AWS stand-in (the runner never calls real AWS), got nothing'],
      });
    }
    const [region, account] = options.queueArn.split(':').slice(3, 5);
    this.sqs = new SQSClient({ endpoint, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const bundle = options.bundle ?? CONSUMER_BUNDLE;
    const environment = functionEnvironment({ bundle, functionName: FUNCTION_NAME, region, account, endpoint, environment: options.environment });
    this.containers = Array.from({ length: this.settings.maxConcurrency }, (_, slot) => new WarmContainer({
      slot,
      bundle,
      environment,
      onLog: (line) => this.emit('log', line),
    }));
  }

  /** Starts polling with every concurrency slot. */
  public start(): this {
    if (this.running) return this;
    this.running = true;
    for (const container of this.containers) this.loops.push(this.poll(container));
    return this;
  }

  /**
   * Stops polling, lets the running invocations finish, and ends the containers.
   * Long polls in progress are abandoned, as in SQS: a message that one of them
   * still takes on the server (for up to 20 s) returns after the visibility timeout.
   * Stop a runner when nothing more is sent to its queue, or give the next one a new queue.
   */
  public async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.all(this.loops.splice(0));
    await Promise.all(this.containers.map((c) => c.stop()));
  }

  /**
   * Resolves once the queue holds no message (visible, in flight or delayed) and
   * no batch is running: everything was stored, or went to the dead-letter queue.
   */
  public async drained(options: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { Attributes: a = {} } = await this.sqs.send(new GetQueueAttributesCommand({
        QueueUrl: this.options.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }));
      const visible = Number(a.ApproximateNumberOfMessages ?? 0);
      const inFlight = Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
      const delayed = Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
      if (visible + inFlight + delayed === 0 && this.busySlots === 0) return;
      if (Date.now() > deadline) {
        throw new QueueNotDrainedError({ queueUrl: this.options.queueUrl, timeoutMs, visible, inFlight, delayed, busySlots: this.busySlots });
      }
      await sleep(options.pollMs ?? 200);
    }
  }

  private async poll(container: WarmContainer): Promise<void> {
    while (this.running) {
      try {
        const batch = await this.collect();
        if (batch.records.length) await this.invoke(container, batch);
      } catch (error) {
        // A slot never stops on an error: what it held returns after the visibility timeout.
        this.emit('warning', { message: `slot ${container.slot} failed a batch; its messages return after the visibility timeout`, error });
      }
    }
  }

  /** Gathers one batch as the event source mapping does. */
  private async collect(): Promise<Collected> {
    const { batchSize, maxBatchingWindowSeconds } = this.settings;
    const records: SQSRecord[] = [];
    let bytes = 0;
    let receiveMs = 0;
    let waitMs = 0;
    let windowEnds: number | undefined;
    while (this.running) {
      const windowLeft = windowEnds === undefined ? Infinity : windowEnds - Date.now();
      const room = Math.min(MAX_RECEIVE, batchSize - records.length, Math.floor((MAX_INVOKE_PAYLOAD_BYTES - bytes) / MAX_RECORD_BYTES));
      if (windowLeft <= 0 || room <= 0) break;
      const waitSeconds = Math.min(LONG_POLL_SECONDS, Math.floor(windowLeft / 1000));
      const started = performance.now();
      let messages: Message[] = [];
      try {
        const out = await this.sqs.send(new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: room,
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }), { abortSignal: this.abort.signal });
        messages = out.Messages ?? [];
        const attempts = out.$metadata.attempts ?? 1;
        if (attempts > 1) {
          this.emit('warning', {
            message: `ReceiveMessage took ${attempts} attempts: what an earlier attempt received returns after the visibility timeout`,
          });
        }
      } catch (error) {
        if (!this.running) break;
        this.emit('warning', { message: `ReceiveMessage failed on ${this.options.queueUrl}; retrying in 1 s`, error });
        await sleep(1000);
        continue;
      } finally {
        if (messages.length) receiveMs += performance.now() - started;
        else waitMs += performance.now() - started;
      }
      if (messages.length && !records.length) this.busySlots++;
      for (const message of messages) {
        const record = toSqsRecord(message, this.options.queueArn);
        records.push(record);
        bytes += Buffer.byteLength(JSON.stringify(record));
      }
      if (records.length && windowEnds === undefined) windowEnds = Date.now() + maxBatchingWindowSeconds * 1000;
      if (!messages.length && waitSeconds === 0) {
        const pause = Math.min(50, windowLeft);
        await sleep(pause);
        waitMs += pause;
      }
    }
    return { records, receiveMs, waitMs };
  }

  private async invoke(container: WarmContainer, batch: Collected): Promise<void> {
    const { records } = batch;
    try {
      const coldStart = !container.warm;
      const started = performance.now();
      const result = await container.invoke({ Records: records }, this.settings.functionTimeoutSeconds * 1000,
        (pid) => this.emit('invoke', { slot: container.slot, pid, messageIds: records.map((r) => r.messageId) }));
      const invokeMs = performance.now() - started;
      const failed = result.kind === 'result' ? failedMessageIds(records, result.result) : new Set(records.map((r) => r.messageId));
      const deleteStarted = performance.now();
      await this.delete(records.filter((r) => !failed.has(r.messageId)));
      const outcome: InvocationOutcome = result.kind === 'result'
        ? (failed.size === 0 ? 'succeeded' : failed.size === records.length ? 'failed' : 'partial')
        : result.kind === 'error' ? 'failed' : result.kind;
      this.report({
        slot: container.slot,
        pid: result.pid,
        size: records.length,
        outcome,
        succeeded: records.length - failed.size,
        failed: failed.size,
        coldStart,
        receiveMs: batch.receiveMs,
        waitMs: batch.waitMs,
        invokeMs,
        handlerMs: result.handlerMs,
        deleteMs: performance.now() - deleteStarted,
        ...(result.error ? { error: result.error } : {}),
      });
    } finally {
      this.busySlots--;
    }
  }

  private async delete(records: readonly SQSRecord[]): Promise<void> {
    const chunks: SQSRecord[][] = [];
    for (let i = 0; i < records.length; i += MAX_RECEIVE) chunks.push(records.slice(i, i + MAX_RECEIVE));
    await Promise.all(chunks.map(async (chunk) => {
      try {
        const out = await this.sqs.send(new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: chunk.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }));
        for (const failure of out.Failed ?? []) {
          this.emit('warning', { message: `DeleteMessageBatch could not delete ${chunk[Number(failure.Id)].messageId}: ${failure.Code} ${failure.Message ?? ''}; it will be delivered again` });
        }
      } catch (error) {
        this.emit('warning', { message: `DeleteMessageBatch failed for ${chunk.length} messages; they will be delivered again`, error });
      }
    }));
  }

  private report(batch: BatchReport): void {
    const t = this.totals;
    t.batches++;
    t.messages += batch.size;
    t.succeeded += batch.succeeded;
    t.failed += batch.failed;
    if (batch.outcome === 'crashed') t.crashes++;
    if (batch.outcome === 'timed-out') t.timeouts++;
    if (batch.coldStart) t.coldStarts++;
    t.receiveMs += batch.receiveMs;
    t.waitMs += batch.waitMs;
    t.invokeMs += batch.invokeMs;
    t.handlerMs += batch.handlerMs ?? 0;
    t.deleteMs += batch.deleteMs;
    this.emit('batch', batch);
  }
}

interface FunctionEnvironmentOptions {
  readonly bundle: string;
  readonly functionName: string;
  readonly region: string;
  readonly account: string;
  /** The local AWS stand-in. */
  readonly endpoint: string;
  /** The function's own variables, as the construct sets them. */
  readonly environment: Readonly<Record<string, string>>;
}

/** The environment of a function's container, as Lambda sets it, pointed at the local AWS stand-in. */
function functionEnvironment(options: FunctionEnvironmentOptions): Record<string, string> {
  const { bundle, functionName, region, account, endpoint } = options;
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(MEMORY_SIZE_MB),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    KX_LOCAL_FUNCTION_ARN: `arn:aws:lambda:${region}:${account}:function:${functionName}`,
    LAMBDA_TASK_ROOT: path.dirname(bundle),
    _HANDLER: `index.${HANDLER_EXPORT}`,
    ...options.environment,
  };
}

export interface FunctionInvocation extends Omit<FunctionEnvironmentOptions, 'account' | 'region'> {
  readonly event: unknown;
  readonly timeoutMs: number;
  /** Each line the function writes. */
  readonly onLog?: (line: FunctionLogLine) => void;
}

/** Runs a bundled function once, in a container of its own on Node 24, as Lambda would; resolves to its result, or rejects with its error. */
export async function invokeFunction(invocation: FunctionInvocation): Promise<unknown> {
  const environment = functionEnvironment({ ...invocation, region: LOCAL_REGION, account: '000000000000' });
  const container = new WarmContainer({ slot: 0, bundle: invocation.bundle, environment, onLog: invocation.onLog ?? (() => undefined) });
  try {
    const outcome = await container.invoke(invocation.event, invocation.timeoutMs, () => undefined);
    if (outcome.kind !== 'result') throw Object.assign(new Error(`${invocation.functionName}: ${outcome.error.name}: ${outcome.error.message}`), { cause: outcome.error });
    return outcome.result;
  } finally {
    await container.stop();
  }
}

type ContainerResult =
  | { kind: 'result'; pid: number; result: unknown; handlerMs: number; error?: undefined }
  | { kind: 'error'; pid: number | undefined; error: InvocationError; handlerMs?: number }
  | { kind: 'crashed' | 'timed-out'; pid: number | undefined; handlerMs?: undefined; error: InvocationError };

interface WarmContainerOptions {
  readonly slot: number;
  readonly bundle: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly onLog: (line: FunctionLogLine) => void;
}

/** A long-lived child process on Node 24 that runs one invocation at a time. */
class WarmContainer {
  public readonly slot: number;
  private child: ChildProcess | undefined;
  private ready: Promise<InvocationError | undefined> | undefined;
  private launchedAt = 0;

  constructor(private readonly options: WarmContainerOptions) {
    this.slot = options.slot;
  }

  public get warm(): boolean {
    return this.child !== undefined;
  }

  /**
   * Runs the handler on `event`; starts the container first when there is none.
   * As in Lambda, the function's timeout starts when the handler is invoked: the
   * init phase has 10 s of its own, and only a slower init counts against the timeout.
   */
  public async invoke(event: unknown, timeoutMs: number, onStart: (pid: number) => void): Promise<ContainerResult> {
    if (!this.child) this.launch();
    const child = this.child!;
    const ready = this.ready!;
    const deadline = (await this.timeoutStarts(ready)) + timeoutMs;
    return new Promise<ContainerResult>((resolve) => {
      const requestId = randomUUID();
      let finished = false;
      const finish = (result: ContainerResult) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(result);
      };
      const onMessage = (reply: ContainerReply) => {
        if (reply.type !== 'result' || reply.requestId !== requestId) return;
        finish(reply.error
          ? { kind: 'error', pid: child.pid, error: reply.error, handlerMs: reply.handlerMs }
          : { kind: 'result', pid: child.pid!, result: reply.result, handlerMs: reply.handlerMs });
      };
      const onExit = (code: number | null, signal: string | null) => finish({
        kind: 'crashed',
        pid: child.pid,
        error: { name: 'Runtime.ExitError', message: `the container exited during the invocation (${signal ?? `code ${code}`})` },
      });
      const timer = setTimeout(() => {
        finish({ kind: 'timed-out', pid: child.pid, error: { name: 'Sandbox.Timedout', message: `the invocation timed out after ${timeoutMs} ms` } });
        child.kill('SIGKILL');
      }, Math.max(0, deadline - Date.now()));
      void ready.then((initError) => {
        if (finished) return;
        if (initError) return finish({ kind: 'error', pid: child.pid, error: initError });
        child.on('message', onMessage);
        child.once('exit', onExit);
        const request: InvokeRequest = { type: 'invoke', requestId, event, deadline };
        child.send(request, (error) => {
          if (error) finish({ kind: 'crashed', pid: child.pid, error: { name: 'Runtime.ExitError', message: `the batch could not be sent to the container: ${error.message}` } });
        });
        onStart(child.pid!);
      });
    });
  }

  /** When the function's timeout starts: once init is done, or when Lambda's init limit has passed, whichever is first. */
  private timeoutStarts(ready: Promise<unknown>): Promise<number> {
    return new Promise((resolve) => {
      const limit = setTimeout(() => resolve(Date.now()), Math.max(0, this.launchedAt + INIT_LIMIT_MS - Date.now()));
      void ready.then(() => {
        clearTimeout(limit);
        resolve(Date.now());
      });
    });
  }

  /** Ends the container, as Lambda ends an idle one. */
  public async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => { clearTimeout(force); resolve(); });
      if (child.connected) child.disconnect();
      else child.kill('SIGKILL');
    });
  }

  private launch(): void {
    const { bundle, environment } = this.options;
    const child = spawn(NODE_24, ['--disable-warning=MODULE_TYPELESS_PACKAGE_JSON', '--disable-warning=ExperimentalWarning', CONTAINER, bundle, HANDLER_EXPORT], {
      cwd: path.dirname(bundle),
      env: environment,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    this.launchedAt = Date.now();
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream]! }).on('line', (line) => this.options.onLog({ slot: this.slot, pid: child.pid!, stream, line }));
    }
    this.ready = new Promise((resolve) => {
      const onReply = (reply: ContainerReply) => {
        if (reply.type === 'ready') resolve(undefined);
        if (reply.type === 'init-error') resolve(reply.error);
      };
      child.on('message', onReply);
      child.once('exit', (code, signal) => resolve({ name: 'Runtime.ExitError', message: `the container exited during init (${signal ?? `code ${code}`})` }));
      child.once('error', (error) => resolve({ name: 'Runtime.ExitError', message: `the container could not start: ${error.message}` }));
    });
    // An IPC or spawn error is also seen as the exit or the failed send that follows it; it must not end the runner.
    child.on('error', (error) => {
      if (child.pid === undefined && this.child === child) this.child = undefined;
      this.options.onLog({ slot: this.slot, pid: child.pid ?? 0, stream: 'stderr', line: `container error: ${error.message}` });
    });
    child.once('exit', () => {
      process.removeListener('exit', killOnExit);
      if (this.child === child) this.child = undefined;
    });
  }
}
