/**
 * The local AWS stand-in as the SDK sees it: fake credentials, one region, and
 * AWS_ENDPOINT_URL pointing at moto. Nothing here can reach real AWS.
 */
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_EVENT_SOURCE } from '../src/private/event-source';

export const LOCAL_REGION = 'us-east-1';

/** Points every AWS SDK client created from now on at `endpoint`, with fake credentials. */
export function useLocalAws(endpoint: string): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

export interface QueuePairOptions {
  /** @default 3, as KxEventsPipeline */
  readonly maxReceiveCount?: number;
  /** @default 300, as KxEventsPipeline */
  readonly visibilityTimeoutSeconds?: number;
}

export interface QueuePair {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
  readonly maxReceiveCount: number;
}

/** A queue and its dead-letter queue, with a redrive policy at maxReceiveCount. */
export async function createQueuePair(sqs: SQSClient, name: string, options: QueuePairOptions = {}): Promise<QueuePair> {
  const maxReceiveCount = options.maxReceiveCount ?? 3;
  const deadLetterQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
  const deadLetterQueueArn = await queueArn(sqs, deadLetterQueueUrl);
  const queueUrl = (await sqs.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 300),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueueArn, maxReceiveCount }),
    },
  }))).QueueUrl!;
  return { queueUrl, queueArn: await queueArn(sqs, queueUrl), deadLetterQueueUrl, deadLetterQueueArn, maxReceiveCount };
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return out.Attributes!.QueueArn!;
}

export interface SubscriberOptions {
  /** The Source of the consumer's entries, EVENT_SOURCE. @default 'kx-events', the consumer's default */
  readonly eventSource?: string;
  /**
   * A fault of the bus (local/moto-server.py's kx-events:fault): `refuse` refuses every PutEvents
   * (AccessDeniedException); with `first-put`, the first PutEvents of some events fails, refused or
   * with failed entries, so that the consumer must put them again.
   * @default - none
   */
  readonly fault?: 'refuse' | 'first-put';
}

/** The event bus of a pipeline with fan-out, and a subscriber's rule on it, to its queue. */
export interface Subscriber {
  readonly eventBusName: string;
  readonly eventSource: string;
  /** The rule's event pattern: every event of the pipeline's source. */
  readonly eventPattern: Readonly<Record<string, unknown>>;
  readonly queueUrl: string;
  /** Receives every event now in the subscriber's queue, and deletes it. */
  received(): Promise<BusEvent[]>;
  /**
   * Receives the events as they arrive, until stop(), which returns them all. moto's SQS costs a delete
   * in proportion to the messages in the queue: a queue kept short keeps a long run fast.
   */
  collect(): { stop(): Promise<BusEvent[]> };
  /** Ends every collect(): the pipeline's stop() calls it. */
  close(): void;
}

/** An event as EventBridge delivers it to a rule's SQS target. */
export interface BusEvent {
  readonly 'id': string;
  readonly 'source': string;
  readonly 'detail-type': string;
  readonly 'time': string;
  /** The TrackedEvent as stored. */
  readonly 'detail': Record<string, unknown> & { eventId: string };
  /** The message's body, as the rule's target received it (JSON.parse rounds big numbers). */
  readonly 'messageBody': string;
}

/** A bus, a subscriber's queue, and a rule from one to the other for every event of `eventSource`. */
export async function createSubscriber(sqs: SQSClient, name: string, options: SubscriberOptions = {}): Promise<Subscriber> {
  const eventBridge = new EventBridgeClient({});
  const eventSource = options.eventSource ?? DEFAULT_EVENT_SOURCE;
  const eventPattern = { source: [eventSource] };
  const [{ EventBusArn }, queueUrl] = await Promise.all([
    eventBridge.send(new CreateEventBusCommand({
      Name: name,
      Tags: options.fault ? [{ Key: 'kx-events:fault', Value: options.fault }] : undefined,
    })),
    sqs.send(new CreateQueueCommand({ QueueName: `${name}-subscriber` })).then((out) => out.QueueUrl!),
  ]);
  const receive = async (waitTimeSeconds = 0): Promise<BusEvent[]> => {
    const request = { QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitTimeSeconds };
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand(request));
    if (Messages.length === 0) return [];
    const entries = Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! }));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    return Messages.map((m) => ({ ...JSON.parse(m.Body!), messageBody: m.Body! }) as BusEvent);
  };
  const received = async (): Promise<BusEvent[]> => {
    const events: BusEvent[] = [];
    for (let more = await receive(); more.length > 0; more = await receive()) events.push(...more);
    return events;
  };
  let closed = false;
  const rule = `${name}-subscriber`;
  await eventBridge.send(new PutRuleCommand({ Name: rule, EventBusName: name, EventPattern: JSON.stringify(eventPattern) }));
  await eventBridge.send(new PutTargetsCommand({ Rule: rule, EventBusName: name, Targets: [{ Id: 'subscriber', Arn: await queueArn(sqs, queueUrl) }] }));
  return {
    eventBusName: EventBusArn!,
    eventSource,
    eventPattern,
    queueUrl,
    received,
    collect: () => {
      const events: BusEvent[] = [];
      let stopping = false;
      // An error ends the polling; the events it did not receive are missing from stop()'s.
      const polling = (async () => {
        while (!stopping && !closed) events.push(...await receive(1));
      })().catch(() => undefined);
      return {
        stop: async () => {
          stopping = true;
          await polling;
          return [...events, ...await received()];
        },
      };
    },
    close: () => {
      closed = true;
    },
  };
}
