/**
 * The dead-letter queue's copy of a message, through moto's SQS (which, like SQS, refuses
 * more than 10 message attributes: local/moto-server.py): the reason always travels, cut
 * without splitting a character, and the original attributes within SQS's limit.
 */
import type { SQSRecord } from 'aws-lambda';
import { consumerBed, CONSUMER_SOURCE, drainQueue, dropDatabase, invoke, sqsRecord } from './harness';
import { DeadLetterQueue, MORE_ATTRIBUTES_ATTRIBUTE, REASON_ATTRIBUTE } from '../../lambda/lib/dead-letter-queue';
import { freshQueues } from '../setup/test-bed';

type Attributes = SQSRecord['messageAttributes'];
const text = (value: string): Attributes[string] => ({ dataType: 'String', stringValue: value, stringListValues: [], binaryListValues: [] });

test('a long reason is cut to 1,000 characters without splitting a surrogate pair', async () => {
  const { deadLetterQueueUrl } = await freshQueues();
  const record = sqsRecord('not json');
  // The 999th UTF-16 unit, where the cut falls, is the first half of an emoji.
  const reason = `${'x'.repeat(998)}${'😀'.repeat(10)}`;
  const unsent = await new DeadLetterQueue(deadLetterQueueUrl).send([{ record, reason }], Date.now() + 10_000);
  expect([...unsent]).toEqual([]);
  const [dead] = await drainQueue(deadLetterQueueUrl, 1);
  expect(dead.MessageAttributes![REASON_ATTRIBUTE].StringValue).toBe(`${'x'.repeat(998)}…`);
});

test('a message that already has 10 attributes keeps its reason, 8 of them as attributes and the other 2 in one more, nothing lost', async () => {
  const bed = await consumerBed(CONSUMER_SOURCE);
  try {
    const attributes: Attributes = {};
    for (let i = 0; i < 9; i++) attributes[`attribute-${i}`] = text(`value ${i} é😀`);
    attributes.binary = { dataType: 'Binary', binaryValue: Buffer.from([0, 1, 2, 255]).toString('base64'), stringListValues: [], binaryListValues: [] };
    const record = sqsRecord('not json', { attributes });

    const result = await invoke(bed.handler, [record]);
    expect(result.failures).toEqual([]);
    expect(result.summary).toMatchObject({ invalid: 1, failed: 0 });

    const [dead] = await drainQueue(bed.deadLetterQueueUrl, 1);
    const received = dead.MessageAttributes!;
    expect(Object.keys(received)).toHaveLength(10);
    expect(received[REASON_ATTRIBUTE].StringValue).toMatch(/^body: must be a JSON TrackedEvent/);
    // Every original, from the attributes and the one that holds the rest.
    const restored: Record<string, { DataType?: string; StringValue?: string; BinaryValue?: string }> = {
      ...JSON.parse(received[MORE_ATTRIBUTES_ATTRIBUTE].StringValue!),
    };
    for (const [name, value] of Object.entries(received)) {
      if (name === REASON_ATTRIBUTE || name === MORE_ATTRIBUTES_ATTRIBUTE) continue;
      restored[name] = { DataType: value.DataType, StringValue: value.StringValue, BinaryValue: value.BinaryValue && Buffer.from(value.BinaryValue).toString('base64') };
    }
    expect(Object.keys(restored)).toHaveLength(10);
    for (const [name, value] of Object.entries(attributes)) {
      const expected = value.stringValue === undefined ? { BinaryValue: value.binaryValue } : { StringValue: value.stringValue };
      expect(restored[name]).toMatchObject({ DataType: value.dataType, ...expected });
    }
  } finally {
    await dropDatabase(bed.databaseUrl);
  }
});
