/**
 * replay-unpublished: the producers' `kx-events.unpublished` records, read from a log group
 * (CloudWatch Logs FilterLogEvents), joined when written in parts, checked against the event
 * contract, each eventId once, and published again with the runtime package's batch publishing.
 */
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { describeProblems, publishEvents, validateTrackedEvent, type TrackedEvent } from 'kx-events-decorators';
import { recoverUnpublishedEvents, UNPUBLISHED_MARKER, type UnpublishedLine } from 'kx-events-decorators/recovery';
import { explainAwsError } from './errors';
import { ProgressBar, type Terminal } from './terminal';

/** How long the queue may take to accept a batch of replayed events. */
const PUBLISH_TIMEOUT_MS = 30_000;

export interface ReplayOptions {
  readonly logGroup: string;
  /** From when, in ms since the epoch. */
  readonly since: number;
  readonly queueUrl: string;
  readonly dryRun: boolean;
  readonly region?: string;
}

export interface ReplayReport {
  readonly logGroup: string;
  readonly since: string;
  readonly dryRun: boolean;
  /** Events found in the records, repeats included, and records that do not give an event back. */
  readonly found: number;
  /** Published (with --dry-run: that would be). */
  readonly sent: number;
  /** Repeats of an eventId already replayed in this run. */
  readonly skipped: number;
  /** Not sent: a record that gives no event back, an event that breaks the contract, or one the queue did not take. */
  readonly failed: number;
  readonly problems: ReadonlyArray<{ readonly source?: string; readonly eventId?: string; readonly problem: string }>;
}

export async function replayUnpublished(options: ReplayOptions, terminal: Terminal): Promise<ReplayReport> {
  const lines = await readRecords(options, terminal);
  const { events, unrecoverable } = recoverUnpublishedEvents(lines);
  const problems: Array<{ source?: string; eventId?: string; problem: string }> = [...unrecoverable];
  const seen = new Set<string>();
  const valid: TrackedEvent[] = [];
  let skipped = 0;
  let invalid = 0;
  for (const { event, source } of events) {
    const eventProblems = validateTrackedEvent(event);
    const eventId = typeof (event as { eventId?: unknown })?.eventId === 'string' ? (event as TrackedEvent).eventId : undefined;
    if (eventProblems.length > 0) {
      invalid++;
      problems.push({ source, eventId, problem: `breaks the event contract: ${describeProblems(eventProblems)}` });
    } else if (seen.has(eventId!)) {
      skipped++;
    } else {
      seen.add(eventId!);
      valid.push(event as TrackedEvent);
    }
  }
  let sent = valid.length;
  if (!options.dryRun && valid.length > 0) {
    const summary = await publishToStderr(terminal, () => publishEvents(valid, { queueUrl: options.queueUrl, timeoutMs: PUBLISH_TIMEOUT_MS }));
    sent = summary.published;
    if (summary.unpublished > 0) {
      problems.push({ problem: `${summary.unpublished} events were not accepted by the events queue ${options.queueUrl}: their kx-events.unpublished records are on stderr; run the command again` });
    }
  }
  return {
    logGroup: options.logGroup,
    since: new Date(options.since).toISOString(),
    dryRun: options.dryRun,
    found: events.length + unrecoverable.length,
    sent,
    skipped,
    failed: unrecoverable.length + invalid + (valid.length - sent),
    problems,
  };
}

/** Every log event of the group since `since` that carries the marker. */
async function readRecords(options: ReplayOptions, terminal: Terminal): Promise<UnpublishedLine[]> {
  const client = new CloudWatchLogsClient({ region: options.region });
  const progress = new ProgressBar(terminal, `reading ${options.logGroup}`, 0);
  const lines: UnpublishedLine[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await client.send(new FilterLogEventsCommand({
        logGroupName: options.logGroup,
        startTime: options.since,
        filterPattern: `"${UNPUBLISHED_MARKER}"`,
        nextToken,
      }));
      for (const event of page.events ?? []) {
        lines.push({ text: event.message ?? '', source: `${event.logStreamName} at ${new Date(event.timestamp ?? 0).toISOString()}` });
      }
      progress.update(lines.length, lines.length);
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (err) {
    throw explainAwsError(err, { what: `the log group ${options.logGroup}`, option: '--log-group (the producer function\'s log group, such as /aws/lambda/NAME)' });
  } finally {
    progress.done();
    client.destroy();
  }
  return lines;
}

/**
 * Runs a publish with the runtime package's own log records (the unpublished ones, should the
 * queue refuse) on stderr, so stdout carries only the command's result.
 */
async function publishToStderr<T>(terminal: Terminal, publish: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => { terminal.err(String(chunk)); return true; }) as typeof process.stdout.write;
  try {
    return await publish();
  } finally {
    process.stdout.write = write;
  }
}
