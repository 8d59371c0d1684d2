import * as net from 'net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { publishEvents } from '../src/publishing';
import { MAX_UNPUBLISHED_LINE_BYTES, recoverUnpublishedEvents } from '../src/recovery';
import { createTrackedEvent } from '../src/tracked-event';

/** The raw lines written to stdout while `fn` runs. */
async function stdoutLines(fn: () => Promise<unknown>): Promise<string[]> {
  const chunks: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: unknown) => { chunks.push(String(chunk)); return true; }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('').split('\n').filter((line) => line !== '');
}

/** A client for a local port with nothing listening: every send fails at once, for real. */
async function failingClient(): Promise<SQSClient> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return new SQSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

// Characters whose JSON and UTF-8 take more room than one byte: quotes, backslashes, a control
// character, two- and three-byte characters, and a surrogate pair, so a cut could split any of them.
const awkward = 'a"b\\c\nd\u0001éü中文🎉';
const large = () => createTrackedEvent('report', 'report_exported', {}, undefined, {
  clientId: 'acme',
  metadata: { rows: Array.from({ length: 5_000 }, (_, i) => `${i}:${awkward}`), note: '🎉'.repeat(2_000) },
})!;

test('an event too large for one log line is logged in parts, each under the limit, that recovery joins into the event', async () => {
  const event = large();
  expect(Buffer.byteLength(JSON.stringify(event))).toBeGreaterThan(3 * MAX_UNPUBLISHED_LINE_BYTES); // and valid: at most 256 KiB
  const sqsClient = await failingClient();
  const lines = await stdoutLines(() => publishEvents([event], { queueUrl: 'http://127.0.0.1/000000000000/events', sqsClient }));

  expect(lines.length).toBeGreaterThan(3);
  for (const line of lines) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_UNPUBLISHED_LINE_BYTES);
  const records = lines.map((line) => JSON.parse(line));
  expect(records.map((r) => [r.marker, r.reason, r.eventId, r.part.index, r.part.count])).toEqual(
    records.map((_, i) => ['kx-events.unpublished', 'failed', event.eventId, i + 1, lines.length]));

  // Out of order, and one part twice, as overlapping searches return them.
  const shuffled = [lines[2], ...lines.slice(0, 2), lines[1], ...lines.slice(3)].reverse();
  expect(recoverUnpublishedEvents(shuffled)).toEqual({ events: [{ event, reason: 'failed' }], unrecoverable: [] });
});

test('an event that fits is still one line, with the event whole', async () => {
  const event = createTrackedEvent('user', 'user_created', {}, undefined, { clientId: 'acme', metadata: { awkward } })!;
  const lines = await stdoutLines(async () => publishEvents([event], { queueUrl: 'http://127.0.0.1/000000000000/events', sqsClient: await failingClient() }));
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0])).toMatchObject({ marker: 'kx-events.unpublished', reason: 'failed', event });
  expect(recoverUnpublishedEvents(lines).events).toEqual([{ event, reason: 'failed' }]);
});

test('recovery names what it cannot give back: a missing part, a cut line; and ignores other lines', async () => {
  const lines = await stdoutLines(async () => publishEvents([large()], { queueUrl: 'http://127.0.0.1/000000000000/events', sqsClient: await failingClient() }));
  const cut = lines[0].slice(0, 500);
  const { events, unrecoverable } = recoverUnpublishedEvents([
    { text: 'START RequestId: 1 Version: $LATEST', source: 'a' },
    ...lines.slice(1).map((text) => ({ text, source: 'b' })),
    { text: cut, source: 'c' },
  ]);
  expect(events).toEqual([]);
  expect(unrecoverable).toEqual([
    { source: 'c', problem: expect.stringMatching(/^a line with the unpublished marker that is not a whole JSON record/) },
    { source: 'b', problem: expect.stringMatching(new RegExp(`^event in ${lines.length} parts \\(.+\\) is missing part 1: search a longer time range`)) },
  ]);
});
