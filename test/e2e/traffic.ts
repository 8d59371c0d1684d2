/**
 * The traffic of the end-to-end tests: real handlers decorated with @EventTracking,
 * publishing to the real events queue through a client that keeps a copy of every
 * message the queue accepted, so what is stored can be compared with what was sent.
 */
import { SQSClient, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { withDatabase } from '../../local/postgres';
import { EventTracking, type TrackedEvent } from '../../packages/kx-events-decorators/src';

/** A message as the producer sent it. */
export interface SentMessage {
  readonly body: string;
  readonly attributes?: Record<string, MessageAttributeValue>;
  /** The ids the queue gave it: two when it was sent twice. */
  readonly messageIds: readonly string[];
}

interface SendInput {
  readonly MessageBody?: string;
  readonly MessageAttributes?: Record<string, MessageAttributeValue>;
  readonly Entries?: ReadonlyArray<SendInput & { readonly Id?: string }>;
}

interface SendOutput {
  readonly MessageId?: string;
  readonly Successful?: ReadonlyArray<{ readonly Id?: string; readonly MessageId?: string }>;
}

/**
 * An SQS client that sends for real, and records each message the queue accepted.
 * With `sendEachTwice`, it sends every request a second time right after the
 * first, as a producer that retries would (the record keeps one copy, with both ids).
 */
export function recordingSqsClient(options: { sendEachTwice?: boolean } = {}): { client: SQSClient; sent: SentMessage[] } {
  const client = new SQSClient({});
  const sent: SentMessage[] = [];
  client.middlewareStack.add((next) => async (args) => {
    const result = await next(args);
    const outputs = [result.output as SendOutput];
    if (options.sendEachTwice) outputs.push((await next(args)).output as SendOutput);
    const input = args.input as SendInput;
    if (input.Entries) {
      const ids = (id: string | undefined) => outputs.flatMap((o) => o.Successful?.find((s) => s.Id === id)?.MessageId ?? []);
      const accepted = new Set((outputs[0].Successful ?? []).map((s) => s.Id));
      for (const e of input.Entries) {
        if (accepted.has(e.Id)) sent.push({ body: e.MessageBody!, attributes: e.MessageAttributes, messageIds: ids(e.Id) });
      }
    } else if (input.MessageBody !== undefined) {
      sent.push({ body: input.MessageBody, attributes: input.MessageAttributes, messageIds: outputs.flatMap((o) => o.MessageId ?? []) });
    }
    return result;
  }, { step: 'initialize', name: 'recordSentMessages' });
  return { client, sent };
}

/** The handlers of a small product: an API, and a worker behind it. */
function trackedHandlers(queueUrl: string, sqsClient: SQSClient) {
  const options = { queueUrl, sqsClient, timeoutMs: 10_000 };
  class AccountApi {
    @EventTracking('user', 'user_created', {
      source: 'api',
      pointsAwarded: 100,
      entityId: (result: APIGatewayProxyResult) => JSON.parse(result.body).userId,
      userId: (result: APIGatewayProxyResult) => JSON.parse(result.body).userId,
      sessionId: (_result: unknown, event: APIGatewayProxyEvent) => event.headers['x-session-id'],
      metadata: (_result: unknown, event: APIGatewayProxyEvent) => JSON.parse(event.body ?? '{}').profile,
    }, options)
    async createUser(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
      const { name } = JSON.parse(event.body ?? '{}');
      return { statusCode: 201, body: JSON.stringify({ userId: `user_${name}` }) };
    }
  }
  class RewardWorker {
    @EventTracking('reward', 'points_granted', {
      source: (_result: unknown, job: RewardJob) => (job.campaignId ? 'worker' : undefined),
      campaignId: (_result: unknown, job: RewardJob) => job.campaignId,
      pointsAwarded: (_result: unknown, job: RewardJob) => job.points,
      metadata: (result: { grantedAt: number }) => ({ grantedAt: result.grantedAt }),
    }, options)
    async grant(job: RewardJob): Promise<{ grantedAt: number }> {
      return { grantedAt: (job.points ?? 0) * 2 };
    }
  }
  return { api: new AccountApi(), worker: new RewardWorker() };
}

interface RewardJob {
  readonly clientId: string;
  readonly previousEventId?: string;
  readonly campaignId?: string;
  readonly points?: number;
}

/**
 * Runs the handlers `count` times, 25 at a time, publishing to `queueUrl`, with inputs that fill
 * every field of the contract (and leave the optional ones out, too): API
 * requests with the clientId in a header or the body, worker jobs with it on
 * the event; one event in five follows one sent earlier.
 */
export async function runTrackedHandlers(queueUrl: string, count: number, options: { sendEachTwice?: boolean } = {}): Promise<SentMessage[]> {
  const parallel = 25;
  const { client, sent } = recordingSqsClient(options);
  const { api, worker } = trackedHandlers(queueUrl, client);
  const invoke = (i: number): Promise<unknown> => {
    const clientId = `client-${i % 7}`;
    const earlier: string | undefined = i >= 50 && i % 5 === 0 ? JSON.parse(sent[i % 40].body).eventId : undefined;
    if (i % 2 === 0) {
      const profile = i % 4 === 0 ? { plan: 'pro', seats: i, tags: ['a', 'ß', '🎉'], nested: { ok: true, none: null } } : undefined;
      return api.createUser({
        headers: { ...(i % 3 ? { 'X-Client-Id': clientId } : {}), 'x-session-id': `session-${i}`, ...(earlier ? { 'X-Previous-Event-Id': earlier } : {}) },
        body: JSON.stringify({ name: `n${i}`, ...(i % 3 ? {} : { clientId }), profile }),
      } as unknown as APIGatewayProxyEvent);
    }
    return worker.grant({ clientId, points: i % 9 === 1 ? undefined : i - 500, ...(i % 3 ? { campaignId: `campaign-${i % 11}` } : {}), ...(earlier ? { previousEventId: earlier } : {}) });
  };
  for (let start = 0; start < count; start += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - start) }, (_, k) => invoke(start + k)));
  }
  if (sent.length !== count) throw new Error(`the handlers published ${sent.length} of ${count} events`);
  return sent;
}

export function eventsOf(messages: readonly SentMessage[]): TrackedEvent[] {
  return messages.map((m) => JSON.parse(m.body));
}

/** A row of `events` as the tests compare it: the timestamp as an ISO string. */
export type StoredEvent = Record<string, unknown>;

/** Every row of `events`, by event id. */
export function storedEvents(databaseUrl: string): Promise<Map<string, StoredEvent>> {
  return withDatabase(databaseUrl, async (client) => {
    const { rows } = await client.query('SELECT * FROM events');
    return new Map(rows.map((row) => [row.event_id, { ...row, occurred_at: row.occurred_at.toISOString(), created_at: undefined }]));
  });
}

/** The row an event must become. */
export function expectedRow(event: TrackedEvent): StoredEvent {
  return {
    event_id: event.eventId,
    client_id: event.clientId,
    previous_event_id: event.previousEventId ?? null,
    claimed_previous_event_id: null,
    user_id: event.userId ?? null,
    entity_id: event.entityId ?? null,
    entity_type: event.entityType,
    event_type: event.eventType,
    source: event.source ?? null,
    campaign_id: event.campaignId ?? null,
    points_awarded: event.pointsAwarded ?? null,
    session_id: event.sessionId ?? null,
    occurred_at: new Date(event.occurredAt).toISOString(),
    metadata: event.metadata ?? null,
    created_at: undefined,
  };
}
