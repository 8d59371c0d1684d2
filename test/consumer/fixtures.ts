/**
 * Events and SQS records as the consumer receives them, shared by the consumer's
 * tests and its benchmark (no Jest here, so ts-node can load it too).
 */
import { randomUUID } from 'crypto';
import type { SQSRecord } from 'aws-lambda';

/** A valid event, as the decorators publish it: every field and a small metadata object. */
export function trackedEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: randomUUID(),
    clientId: 'client-1',
    userId: 'user-1',
    entityId: 'order-1',
    entityType: 'order',
    eventType: 'order_completed',
    source: 'api',
    campaignId: 'spring-sale',
    pointsAwarded: 50,
    sessionId: randomUUID(),
    occurredAt: new Date().toISOString(),
    metadata: { amount: 99.99, currency: 'USD', items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }] },
    ...overrides,
  };
}

export interface SqsRecordOptions {
  /** @default 1 */
  readonly receiveCount?: number;
  /** @default - a new UUID */
  readonly messageId?: string;
  /** @default {} */
  readonly attributes?: SQSRecord['messageAttributes'];
}

/** An SQS record as Lambda delivers it. */
export function sqsRecord(body: string, options: SqsRecordOptions = {}): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: `receipt-${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: now,
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: options.attributes ?? {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:kx-events',
    awsRegion: 'us-east-1',
  };
}
