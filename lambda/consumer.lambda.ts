/**
 * The consumer Lambda: SQS batches of tracked events into PostgreSQL, with
 * ReportBatchItemFailures, and from there to EventBridge when EVENT_BUS_NAME is set.
 * Configured by DB_SECRET_ARN (the writer role's secret), DB_SSL_MODE, DB_HOST, DB_PORT
 * and DB_NAME (optional, instead of the secret's), DEAD_LETTER_QUEUE_URL, MAX_RECEIVE_COUNT,
 * EVENT_BUS_NAME and EVENT_SOURCE; a bad setting stops the container at start.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { consumerSettings } from './lib/configuration';
import { DatabaseConnection } from './lib/database';
import { DeadLetterQueue } from './lib/dead-letter-queue';
import { EventConsumer } from './lib/event-consumer';
import { EventFanOut } from './lib/event-fan-out';
import { WRITER_STATEMENT_TIMEOUT_MS } from './lib/roles';

const settings = consumerSettings(process.env);
const consumer = new EventConsumer({
  // The writer role's own settings cancel a statement after 20 s (the database is in trouble, and the
  // batch is better retried) and name the session: no startup parameter, no SET, nothing RDS Proxy pins
  // on. Each invocation's own deadline may come sooner.
  database: new DatabaseConnection(settings, { statementTimeoutMs: WRITER_STATEMENT_TIMEOUT_MS }),
  deadLetterQueue: new DeadLetterQueue(settings.deadLetterQueueUrl),
  maxReceiveCount: settings.maxReceiveCount,
  fanOut: settings.eventBusName ? new EventFanOut(settings.eventBusName, settings.eventSource) : undefined,
});

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => consumer.consume(event, context.getRemainingTimeInMillis());
