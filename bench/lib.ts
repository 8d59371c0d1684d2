/**
 * What the consumer's benchmarks share: the bundled consumer as Lambda loads it, the
 * rows it would store, and the COPY peer that bounds it.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { COPY_EVENTS, copyLine, eventRow, type EventRow } from '../lambda/lib/events-table';
import { CONSUMER_BUNDLE } from '../local/runner';
import type { TrackedEvent } from '../packages/kx-events-decorators/src/contract';

/** The bundled consumer, as Lambda loads it; its summary lines are discarded while it runs. */
export function loadConsumer(env: Readonly<Record<string, string | undefined>>): (event: SQSEvent) => Promise<SQSBatchResponse> {
  // A container of its own: the bundle's module scope reads its settings from this environment.
  delete process.env.EVENT_BUS_NAME;
  Object.assign(process.env, env);
  delete require.cache[CONSUMER_BUNDLE];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(CONSUMER_BUNDLE) as { handler: (event: SQSEvent, context: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<SQSBatchResponse> };
  return async (event) => {
    const write = process.stdout.write;
    process.stdout.write = () => true;
    // The construct's default consumerTimeout, 30 s, from the invocation's start.
    const deadline = Date.now() + 30_000;
    try {
      return await handler(event, { getRemainingTimeInMillis: () => deadline - Date.now() });
    } finally {
      process.stdout.write = write;
    }
  };
}

export function assertAllDone(response: SQSBatchResponse): void {
  if (response.batchItemFailures.length > 0) throw new Error(`the consumer reported ${response.batchItemFailures.length} failures`);
}

/** The row the consumer would store for the message's event. */
export function parsedRow(record: SQSRecord): EventRow {
  return linkedRow(JSON.parse(record.body) as TrackedEvent);
}

export function linkedRow(event: TrackedEvent): EventRow {
  return eventRow(event, { previous: event.previousEventId ?? null, claimed: null });
}

/** The COPY peer: parse the batch, then one COPY … FROM STDIN in text format (the consumer's lines), all of its text at once. */
export async function copyInsert(db: ClientBase, records: SQSRecord[]): Promise<void> {
  const text = records.map((r) => copyLine(parsedRow(r))).join('');
  const stream = db.query(copyFrom(COPY_EVENTS));
  await new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
    stream.end(text);
  });
}

export function fmt(rate: number): string {
  return Math.round(rate).toLocaleString('en-US');
}
