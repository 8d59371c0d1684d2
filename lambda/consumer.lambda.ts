/**
 * The consumer Lambda: SQS batches of tracked events into PostgreSQL, with
 * ReportBatchItemFailures. Configured by DB_SECRET_ARN, DB_SSL_MODE,
 * DEAD_LETTER_QUEUE_URL and MAX_RECEIVE_COUNT; a bad setting stops the container at start.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { consumerSettings } from './lib/configuration';
import { DatabaseConnection } from './lib/database';
import { DeadLetterQueue } from './lib/dead-letter-queue';
import { EventConsumer } from './lib/event-consumer';

const settings = consumerSettings(process.env);
const consumer = new EventConsumer({
  database: new DatabaseConnection(settings, undefined, 'kx-events-consumer'),
  deadLetterQueue: new DeadLetterQueue(settings.deadLetterQueueUrl),
  maxReceiveCount: settings.maxReceiveCount,
});

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> => consumer.consume(event);
