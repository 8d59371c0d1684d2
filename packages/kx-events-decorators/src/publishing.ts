/**
 * Publishing to the events queue. Every publish is bounded by a deadline, never throws, and logs
 * each event it could not send whole, once, under the marker `kx-events.unpublished`.
 */
import { MessageAttributeValue, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describeProblems, inspectTrackedEvent, MAX_EVENT_BYTES, TrackedEvent } from './contract';
import { describeError, writeLog } from './log';
import { logUnpublished } from './unpublished-record';

/** How long a publish may take, in milliseconds, unless `timeoutMs` or `EVENTS_PUBLISH_TIMEOUT_MS` says otherwise. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 1000;

/** The longest delay a timer keeps: Node.js fires a longer one after 1 ms. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Most messages that one SendMessageBatch call may carry. */
const BATCH_ENTRIES = 10;

/** How often a batch entry that SQS failed on its side is sent, in all, within the deadline; and the pause before the next time, times the attempt. */
const ENTRY_ATTEMPTS = 3;
const RETRY_DELAY_MS = 25;

/** What SQS counts for the three attributes besides their values: each name and its type, `String`. */
const ATTRIBUTE_OVERHEAD_BYTES = ['eventType', 'entityType', 'clientId'].reduce((sum, name) => sum + name.length + 'String'.length, 0);

export interface PublishOptions {
  /**
   * The events queue.
   * @default - the `EVENTS_QUEUE_URL` environment variable; without either, publishing is a no-op after one warning
   */
  readonly queueUrl?: string;
  /**
   * How long a publish may take before its events are logged as unpublished, in milliseconds.
   * The send is awaited (Lambda freezes whatever is still pending), so this bounds the latency a handler can gain.
   * Through `@EventTracking`, `withEventTracking` or the middleware, the deadline also ends 100 ms before the
   * invocation's own, as the Lambda context's `getRemainingTimeInMillis()` tells.
   * @default - the `EVENTS_PUBLISH_TIMEOUT_MS` environment variable, else 1000
   */
  readonly timeoutMs?: number;
  /**
   * The SQS client to send with.
   * @default - one client per container, created on first use; it reads AWS_REGION, credentials and
   * AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_SQS) from the environment, like any AWS SDK v3 client
   */
  readonly sqsClient?: SQSClient;
}

/** What {@link publishEvents} did: how many events the queue accepted, and how many were logged as unpublished. */
export interface PublishSummary {
  readonly published: number;
  readonly unpublished: number;
}

/** Thrown inside a publish (and logged, never rethrown) when the deadline passes first. */
export class PublishDeadlineError extends Error {
  public readonly data: { readonly timeoutMs: number };

  constructor(timeoutMs: number) {
    super(`the queue did not answer within ${timeoutMs} ms`);
    this.name = 'PublishDeadlineError';
    this.data = { timeoutMs };
  }
}

/** Receives events instead of the queue while a test captures them (see `kx-events-decorators/testing`). */
type EventSink = (event: TrackedEvent) => void;

const sinks: EventSink[] = [];
let containerClient: SQSClient | undefined;
let warnedNoQueueUrl = false;
const warnedSettings = new Set<string>();

/**
 * Sends one event to the events queue, awaiting the queue's answer up to the deadline.
 * Resolves true when the queue accepted it. Never throws: an invalid event, a failure or a timeout
 * resolves false, and the event is logged whole under `kx-events.unpublished`.
 */
export async function publishEvent(event: TrackedEvent, options: PublishOptions = {}): Promise<boolean> {
  const summary = await publishEvents([event], options);
  return summary.published === 1;
}

/**
 * Sends events with SendMessageBatch, in chunks of at most 10 messages and 256 KiB, sent at once.
 * Each event that is invalid, in a chunk that failed or timed out, or rejected by the queue, is
 * logged whole under `kx-events.unpublished`; the others are sent. Never throws.
 */
export async function publishEvents(events: readonly TrackedEvent[], options: PublishOptions = {}): Promise<PublishSummary> {
  const messages = events.flatMap((event) => toMessage(event) ?? []);
  const invalid = events.length - messages.length;
  const sink = sinks[sinks.length - 1];
  if (sink) {
    messages.forEach((message) => sink(message.event));
    return { published: messages.length, unpublished: invalid };
  }
  const queueUrl = options.queueUrl ?? process.env.EVENTS_QUEUE_URL;
  if (!queueUrl) {
    if (!warnedNoQueueUrl) {
      warnedNoQueueUrl = true;
      writeLog('WARN', 'kx-events.no-queue-url', 'EVENTS_QUEUE_URL is not set: events are not published (this warning is logged once)');
    }
    return { published: 0, unpublished: invalid };
  }
  const timeoutMs = publishTimeoutMs(options);
  const client = options.sqsClient ?? (containerClient ??= new SQSClient({}));
  const sent = await Promise.all(chunksOf(messages).map((chunk) => sendChunk(client, queueUrl, chunk, timeoutMs)));
  const published = sent.reduce((sum, count) => sum + count, 0);
  return { published, unpublished: events.length - published };
}

/** @internal For `kx-events-decorators/testing`: route events to `sink` until the returned function is called. */
export function addEventSink(sink: EventSink): () => void {
  sinks.push(sink);
  return () => {
    const index = sinks.lastIndexOf(sink);
    if (index >= 0) sinks.splice(index, 1);
  };
}

interface OutgoingMessage {
  readonly event: TrackedEvent;
  readonly body: string;
  /** Body and attributes, as SQS counts a message's size. */
  readonly bytes: number;
  readonly attributes?: Record<string, MessageAttributeValue>;
}

/** The message for a valid event; an invalid one is logged as unpublished, with its problems. */
function toMessage(event: TrackedEvent): OutgoingMessage | undefined {
  let inspected: ReturnType<typeof inspectTrackedEvent>;
  try {
    inspected = inspectTrackedEvent(event);
  } catch (err) { // an object that throws when read (a getter, a Proxy): invalid too
    logUnpublished(event, 'invalid', { error: describeError(err) });
    return undefined;
  }
  const { problems, body, bodyBytes } = inspected;
  if (body === undefined || bodyBytes === undefined) {
    logUnpublished(event, 'invalid', { problems: describeProblems(problems) });
    return undefined;
  }
  const attributes: Record<string, MessageAttributeValue> = {
    eventType: { DataType: 'String', StringValue: event.eventType },
    entityType: { DataType: 'String', StringValue: event.entityType },
    clientId: { DataType: 'String', StringValue: event.clientId },
  };
  const bytes = bodyBytes + ATTRIBUTE_OVERHEAD_BYTES
    + Buffer.byteLength(event.eventType) + Buffer.byteLength(event.entityType) + Buffer.byteLength(event.clientId);
  // SQS counts attributes in the message size. An event that fits only without them goes without
  // them: the attributes are a filtering convenience, the body is the event.
  return bytes <= MAX_EVENT_BYTES ? { event, body, bytes, attributes } : { event, body, bytes: bodyBytes };
}

/** Chunks that SendMessageBatch accepts: at most 10 messages and MAX_EVENT_BYTES in all. */
function chunksOf(messages: OutgoingMessage[]): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let chunk: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (chunk.length === BATCH_ENTRIES || bytes + message.bytes > MAX_EVENT_BYTES) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += message.bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Sends one chunk (a single message with SendMessage); returns how many the queue accepted. Batch
 * entries that SQS failed on its side (SenderFault false) are sent again, up to ENTRY_ATTEMPTS in all,
 * within the chunk's deadline; the others, and those still failing, are logged as rejected.
 */
async function sendChunk(client: SQSClient, queueUrl: string, chunk: OutgoingMessage[], timeoutMs: number): Promise<number> {
  let pending = chunk; // not accepted yet
  let rejected = 0;
  try {
    await withinDeadline(timeoutMs, async (abortSignal) => {
      if (chunk.length === 1) {
        const [{ body, attributes }] = chunk;
        await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }), { abortSignal });
        pending = [];
        return;
      }
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > 1) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * (attempt - 1)));
          if (abortSignal.aborted) return; // the deadline passed during the pause: what is pending was logged as such
        }
        const sent = pending;
        const response = await client.send(new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: sent.map(({ body, attributes }, index) => ({ Id: String(index), MessageBody: body, MessageAttributes: attributes })),
        }), { abortSignal });
        if (abortSignal.aborted) return; // the deadline passed first: what is pending was logged as such
        pending = [];
        for (const entry of response.Failed ?? []) {
          const message = sent[Number(entry.Id)];
          if (!entry.SenderFault && attempt < ENTRY_ATTEMPTS) {
            pending.push(message);
          } else {
            rejected++;
            logUnpublished(message.event, 'rejected', { error: { name: entry.Code, message: entry.Message, senderFault: entry.SenderFault }, attempts: attempt });
          }
        }
      }
    });
  } catch (err) {
    const reason = err instanceof PublishDeadlineError ? 'timeout' : 'failed';
    pending.forEach(({ event }) => logUnpublished(event, reason, { error: describeError(err) }));
    return chunk.length - rejected - pending.length;
  }
  return chunk.length - rejected;
}

/** Runs `send`, aborting it and rejecting with PublishDeadlineError when `timeoutMs` passes first. */
async function withinDeadline<T>(timeoutMs: number, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error = new PublishDeadlineError(timeoutMs);
      reject(error);
      controller.abort(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([send(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** @internal The publish deadline: `timeoutMs`, else EVENTS_PUBLISH_TIMEOUT_MS, else the default (an invalid setting is warned about once). */
export function publishTimeoutMs(options: PublishOptions): number {
  const [setting, given] = options.timeoutMs !== undefined
    ? ['timeoutMs', options.timeoutMs]
    : ['EVENTS_PUBLISH_TIMEOUT_MS', process.env.EVENTS_PUBLISH_TIMEOUT_MS];
  if (given === undefined || given === '') return DEFAULT_PUBLISH_TIMEOUT_MS;
  const value = Number(given);
  if (value > 0 && value <= MAX_TIMEOUT_MS) return value;
  if (!warnedSettings.has(`${setting}=${given}`)) {
    warnedSettings.add(`${setting}=${given}`);
    writeLog('WARN', 'kx-events.invalid-setting', `${setting} must be a positive number of milliseconds, at most ${MAX_TIMEOUT_MS}: using ${DEFAULT_PUBLISH_TIMEOUT_MS}`, { setting, given });
  }
  return DEFAULT_PUBLISH_TIMEOUT_MS;
}
