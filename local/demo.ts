/**
 * `npm run demo`, the README's main command: the whole pipeline on this machine,
 * without AWS, in well under a minute.
 *
 * The example handlers of the README (examples/handlers: decorated, wrapped, and manual
 * publishing) publish events to SQS (moto). The event-source runner feeds them to
 * the bundled consumer, on Node 24, which stores them in PostgreSQL 16 and fans them
 * out to an EventBridge bus (moto), where a rule sends them to a subscriber's queue.
 * A two-step chain links a payment to its receipt email, read back with event_chain,
 * and one invalid message lands in the dead-letter queue with its reason.
 * DATABASE_URL and AWS_ENDPOINT_URL name servers to use instead of the embedded ones.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { startLocalPipeline, type LocalPipeline } from './pipeline';
import { withDatabase } from './postgres';
import { batchSummary, type EventSourceRunner } from './runner';
import { manualPublishingHandler, notificationWorkerHandler, userControllerHandler, userServiceHandler } from '../examples/handlers';
import { createTrackedEvent, withEventTracking } from '../packages/kx-events-decorators/src';

const CLIENT = 'acme';
const started = performance.now();

function say(message: string): void {
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);
}

/** A table in plain text: a header, a rule, and one line a row. */
function table(rows: ReadonlyArray<Record<string, string>>): string {
  if (!rows.length) return '  (none)';
  const columns = Object.keys(rows[0]);
  const width = (c: string) => Math.max(c.length, ...rows.map((r) => r[c].length));
  const line = (cells: (c: string) => string) => `  ${columns.map((c) => cells(c).padEnd(width(c))).join('  ')}`.trimEnd();
  return [line((c) => c), line((c) => '─'.repeat(width(c))), ...rows.map((r) => line((c) => r[c]))].join('\n');
}

/** Tells, batch by batch, what the consumer did; passes on its warnings and errors. */
function narrate(runner: EventSourceRunner): void {
  runner.on('log', ({ line }) => {
    const summary = batchSummary(line);
    if (summary) {
      const counts = (['inserted', 'duplicates', 'invalid', 'deferred', 'failed', 'unlinked'] as const)
        .filter((k) => summary[k] > 0).map((k) => `${summary[k]} ${k === 'invalid' ? 'dead-lettered' : k}`);
      say(`consumer: batch of ${summary.received}: ${counts.join(', ') || 'nothing to do'} (${Math.round(summary.dbMs)} ms in the database)`);
      return;
    }
    const entry = line.startsWith('{') ? JSON.parse(line) : { level: 'INFO', message: line };
    if (entry.level !== 'INFO') say(`consumer ${entry.level}: ${entry.message}`);
  });
  runner.on('warning', ({ message }) => say(`runner: ${message}`));
}

async function runHandlers(pipeline: LocalPipeline): Promise<void> {
  process.env.EVENTS_QUEUE_URL = pipeline.queues.queueUrl;
  const runner = pipeline.runner();
  narrate(runner);
  runner.start();
  say(`runner: polling with ${runner.settings.maxConcurrency} warm consumer containers, batches of ${runner.settings.batchSize}`);

  say('UserService.createUser (@EventTracking, clientId in the event)');
  await userServiceHandler({ clientId: CLIENT });
  say('UserController.createUser (@EventTracking, API Gateway request with an X-Client-Id header)');
  await userControllerHandler({ headers: { 'X-Client-Id': CLIENT }, body: JSON.stringify({ name: 'Ada' }) } as unknown as APIGatewayProxyEvent);
  say('startSession (withEventTracking, extra fields from the result)');
  const startSession = withEventTracking(
    async (_event: { clientId: string; userId: string }) => ({ sessionId: 'session_789' }),
    'session', 'session_started',
    { source: 'web', userId: (_result, event) => event.userId, sessionId: (result) => result.sessionId },
  );
  await startSession({ clientId: CLIENT, userId: 'user_123' });
  say('payment handler (createTrackedEvent + publishEvent by hand): step 1 of a chain');
  const payment = await manualPublishingHandler({ clientId: CLIENT });
  await runner.drained({ timeoutMs: 30_000 });

  say(`NotificationWorker.processEmailJob (@EventTracking): step 2, previousEventId ${payment.eventId}`);
  await notificationWorkerHandler({ clientId: CLIENT, jobId: 'receipt-456', previousEventId: payment.eventId! });
  say('one invalid message, sent raw to the queue: an eventType of 49 characters (the limit is 48)');
  const invalid = { ...createTrackedEvent('payment', 'payment_completed_'.padEnd(49, 'x'), { clientId: CLIENT })! };
  await pipeline.sqs.send(new SendMessageCommand({ QueueUrl: pipeline.queues.queueUrl, MessageBody: JSON.stringify(invalid) }));
  await runner.drained({ timeoutMs: 30_000 });
  say(`queue drained: ${runner.totals.messages} messages in ${runner.totals.batches} batches`);
}

interface StoredRow {
  event_id: string;
  previous_event_id: string | null;
  occurred_at: Date;
  [column: string]: unknown;
}

function storedSince(databaseUrl: string, since: Date): Promise<StoredRow[]> {
  return withDatabase(databaseUrl, async (client) =>
    (await client.query<StoredRow>('SELECT * FROM events WHERE created_at >= $1 ORDER BY occurred_at, event_id', [since])).rows);
}

interface ChainRow {
  depth: number;
  event_id: string;
  event_type: string | null;
  occurred_at: Date | null;
  stored: boolean;
  resolved: boolean;
}

/** The chain that leads to an event, read back with the schema's event_chain function. */
function chainOf(databaseUrl: string, eventId: string): Promise<ChainRow[]> {
  return withDatabase(databaseUrl, async (client) =>
    (await client.query<ChainRow>('SELECT depth, event_id, event_type, occurred_at, stored, resolved FROM event_chain($1)', [eventId])).rows);
}

function databaseNow(databaseUrl: string): Promise<Date> {
  return withDatabase(databaseUrl, async (client) => (await client.query<{ now: Date }>('SELECT now()')).rows[0].now);
}

async function main(): Promise<void> {
  say('kx-events demo: handlers → SQS → consumer (Node 24) → PostgreSQL 16 → EventBridge → a subscriber, all on this machine');
  const pipeline = await startLocalPipeline({ name: 'kx-events-demo', progress: say, fanOut: {} });
  const stop = () => {
    say('interrupted: stopping');
    void pipeline.stop().then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  try {
    const { queues } = pipeline;
    say(`schema: ${pipeline.appliedMigrations.length ? `applied ${pipeline.appliedMigrations.join(', ')}` : 'already current'}, as the admin`);
    say(`roles: the consumer logs in as ${pipeline.roles.writer} (SELECT, INSERT, UPDATE of the two link columns); ${pipeline.roles.reader} may SELECT`);
    say(`queue ${queues.queueUrl}: construct defaults (visibility 300 s, redrive to the DLQ after ${queues.maxReceiveCount} receives)`);
    const subscriber = pipeline.subscriber!;
    say(`fan-out to the bus ${subscriber.eventBusName}; a rule (${JSON.stringify(subscriber.eventPattern)}) sends its events to ${subscriber.queueUrl}`);
    const since = await databaseNow(pipeline.databaseUrl);
    await runHandlers(pipeline);

    const rows = await storedSince(pipeline.databaseUrl, since);
    const letters = await pipeline.deadLetters();
    const arrived = await subscriber.received();
    const receipt = rows.find((r) => r.previous_event_id && rows.some((p) => p.event_id === r.previous_event_id));
    const chain = receipt ? await chainOf(pipeline.databaseUrl, receipt.event_id) : [];
    const show = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
    console.log(`\nStored events (${rows.length}), in the order they occurred:\n`);
    console.log(table(rows.map((r) => ({
      'event id': r.event_id,
      'follows': r.previous_event_id ? r.previous_event_id.slice(0, 8) + '…' : '',
      'occurred at': r.occurred_at.toISOString().slice(11, 23),
      'entity type': show(r.entity_type),
      'event type': show(r.event_type),
      'client': show(r.client_id),
      'user': show(r.user_id),
      'entity': show(r.entity_id),
      'source': show(r.source),
      'points': show(r.points_awarded),
      'session': show(r.session_id),
      'metadata': show(r.metadata),
    }))));
    console.log(`\nThe subscriber's queue (${arrived.length}), through the rule on the bus:\n`);
    console.log(table(arrived.map((e) => ({
      'event id (detail.eventId)': e.detail.eventId,
      'detail-type': e['detail-type'],
      'source': e.source,
      'time': e.time,
      'client': String(e.detail.clientId),
    }))));
    console.log(`\nThe chain that leads to the receipt email, read back with event_chain('${receipt?.event_id ?? ''}'):\n`);
    console.log(table(chain.map((r) => ({
      'depth': String(r.depth),
      'event id': r.event_id,
      'event type': show(r.event_type),
      'occurred at': r.occurred_at ? r.occurred_at.toISOString().slice(11, 23) : '',
      'stored': String(r.stored),
      'resolved': String(r.resolved),
    }))));
    console.log(`\nDead-letter queue (${letters.length}):\n`);
    console.log(table(letters.map((l) => ({ 'message id': l.messageId, 'reason': l.reason, 'body': l.body.length > 60 ? `${l.body.slice(0, 59)}…` : l.body }))));
    console.log();

    const fannedOut = new Set(arrived.map((e) => e.detail.eventId));
    const allArrived = rows.every((r) => fannedOut.has(r.event_id)) && fannedOut.size === rows.length;
    if (rows.length !== 5 || letters.length !== 1 || !receipt || chain.length !== 2 || !allArrived) {
      throw new Error(`expected 5 stored events with a linked chain of 2, each at the subscriber, and 1 dead letter; got ${rows.length} events `
        + `(chain of ${chain.length}), ${fannedOut.size} of them at the subscriber, and ${letters.length} dead letters`);
    }
    say('5 events stored once each, the chain linked, the invalid message dead-lettered with its reason');
    say('each stored event arrived at the subscriber\'s queue, and event_chain read the chain back from the receipt to the payment');
  } finally {
    process.removeListener('SIGINT', stop);
    say('stopping the runner and the stand-ins');
    await pipeline.stop();
    say('done');
  }
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
