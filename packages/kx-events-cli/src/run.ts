/**
 * The `kx-events` command line: parses the arguments, runs one command, and turns every failure
 * into a message that says what to do, with a non-zero exit code (1: the command failed or left
 * something undone; 2: wrong usage).
 */
import { parseArgs } from 'util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DeadLetterQueue, matchesReason, notAnEvent, sendToQueue, type DeadLetter } from './dead-letter-queue';
import { CliError, UsageError } from './errors';
import { resolveQueues, type TargetOptions } from './pipeline-target';
import { replayUnpublished } from './replay-unpublished';
import { age, cut, table, type Terminal } from './terminal';

export const HELP = `kx-events: operate a KxEventsPipeline: its dead-letter queue and the producers' unpublished events.

Usage:
  kx-events dlq summary                       counts by reason, and the oldest message's age
  kx-events dlq show [--reason TEXT] [--limit N]
                                              the messages: id, age, reason and body
  kx-events dlq redrive [--reason TEXT] [--dry-run]
                                              sends the messages back to the events queue, deleting each
                                              from the dead-letter queue only once its copy is accepted
  kx-events replay-unpublished --log-group NAME [--since 24h] [--dry-run]
                                              publishes the kx-events.unpublished events of a producer's log

The pipeline:
  --stack NAME          the CloudFormation stack that holds the KxEventsPipeline (reads its outputs)
  --queue-url URL       the events queue (instead of --stack)
  --dlq-url URL         the dead-letter queue (instead of --stack)
  --region REGION       default: AWS_REGION, then the AWS profile's region

Options:
  --reason TEXT         only messages whose reason contains TEXT (any case); "retries exhausted" names
                        the messages SQS moved after maxReceiveCount receives, which carry no reason
  --limit N             dlq show: at most N messages (default 20)
  --dry-run             say what would be sent, and send nothing
  --log-group NAME      the producer's log group, such as /aws/lambda/my-function
  --since DURATION      how far back to search: 90m, 24h, 7d, or an ISO 8601 time (default 24h)
  --visibility-timeout SECONDS
                        how long the messages read stay hidden from the consumer's view of the
                        dead-letter queue while the command runs (default 120); a killed command's
                        messages reappear after it
  --json                one JSON document on stdout, for scripts
  -h, --help            this help

Exit codes: 0 done; 1 failed, or left messages or events behind (the output says which and why); 2 wrong usage.
Credentials and the region come from the environment, as for the AWS CLI (AWS_PROFILE, AWS_REGION, ...).
`;

const OPTIONS = {
  'stack': { type: 'string' },
  'queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
  'region': { type: 'string' },
  'reason': { type: 'string' },
  'limit': { type: 'string' },
  'dry-run': { type: 'boolean' },
  'log-group': { type: 'string' },
  'since': { type: 'string' },
  'visibility-timeout': { type: 'string' },
  'json': { type: 'boolean' },
  'help': { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Runs the command line `argv` (without `node` and the script); resolves the exit code. */
export async function run(argv: readonly string[], terminal: Terminal): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parse(argv);
    json = values.json === true;
    const command = positionals.join(' ');
    if (values.help || positionals.length === 0) {
      terminal.out(HELP);
      return 0;
    }
    switch (command) {
      case 'dlq summary': return await dlqSummary(values, terminal);
      case 'dlq show': return await dlqShow(values, terminal);
      case 'dlq redrive': return await dlqRedrive(values, terminal);
      case 'replay-unpublished': return await replay(values, terminal);
      default: throw new UsageError(`unknown command "${command}" (commands: dlq summary, dlq show, dlq redrive, replay-unpublished)`);
    }
  } catch (err) {
    const error = err instanceof CliError ? err : new CliError(`unexpected failure: ${(err as Error)?.stack ?? String(err)}`, 'Please report it, with the command you ran.');
    if (json) terminal.out(`${JSON.stringify({ error: { message: error.message, hint: error.hint } }, undefined, 2)}\n`);
    terminal.err(`kx-events: ${error.message}\n${error.hint ? `${error.hint}\n` : ''}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

function parse(argv: readonly string[]): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function target(values: Values): TargetOptions {
  return { stack: values.stack, queueUrl: values['queue-url'], deadLetterQueueUrl: values['dlq-url'], region: values.region };
}

function positiveInteger(values: Values, option: 'limit' | 'visibility-timeout', fallback: number, max: number): number {
  const given = values[option];
  if (given === undefined) return fallback;
  const value = Number(given);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new UsageError(`--${option} must be a whole number from 1 to ${max}, got "${given}"`);
  return value;
}

async function deadLetterQueue(values: Values, terminal: Terminal, needsQueue = false) {
  const queues = await resolveQueues(target(values), needsQueue ? ['deadLetterQueueUrl', 'queueUrl'] : ['deadLetterQueueUrl']);
  const sqs = new SQSClient({ region: values.region });
  return { sqs, queues, dlq: new DeadLetterQueue(sqs, queues.deadLetterQueueUrl, terminal) };
}

/** Every message of the dead-letter queue, let go again afterwards. */
async function readDeadLetters(values: Values, terminal: Terminal): Promise<{ url: string; letters: DeadLetter[] }> {
  const { sqs, dlq } = await deadLetterQueue(values, terminal);
  try {
    const letters = await dlq.readAll({ holdSeconds: positiveInteger(values, 'visibility-timeout', 120, 43_200) });
    await dlq.release();
    return { url: dlq.url, letters };
  } finally {
    sqs.destroy();
  }
}

const ageOf = (letter: DeadLetter, now: number) => Math.max(0, (now - letter.sentAt) / 1000);

async function dlqSummary(values: Values, terminal: Terminal): Promise<number> {
  const { url, letters } = await readDeadLetters(values, terminal);
  const now = Date.now();
  const groups = new Map<string, DeadLetter[]>();
  for (const letter of letters) groups.set(letter.reason, [...groups.get(letter.reason) ?? [], letter]);
  const reasons = [...groups.entries()]
    .map(([reason, group]) => ({ reason, messages: group.length, oldestAgeSeconds: Math.round(Math.max(...group.map((l) => ageOf(l, now)))) }))
    .sort((a, b) => b.messages - a.messages || a.reason.localeCompare(b.reason));
  const oldestAgeSeconds = reasons.length > 0 ? Math.max(...reasons.map((r) => r.oldestAgeSeconds)) : undefined;
  if (values.json) {
    terminal.out(`${JSON.stringify({ deadLetterQueueUrl: url, messages: letters.length, oldestAgeSeconds, reasons }, undefined, 2)}\n`);
  } else if (letters.length === 0) {
    terminal.out(`The dead-letter queue is empty (${url}).\n`);
  } else {
    terminal.out(`${letters.length} messages in the dead-letter queue, the oldest ${age(oldestAgeSeconds!)} old (${url})\n\n`);
    terminal.out(table(['MESSAGES', 'OLDEST', 'REASON'], reasons.map((r) => [String(r.messages), age(r.oldestAgeSeconds), cut(r.reason, 120)])));
  }
  return 0;
}

async function dlqShow(values: Values, terminal: Terminal): Promise<number> {
  const limit = positiveInteger(values, 'limit', 20, 100_000);
  const { url, letters } = await readDeadLetters(values, terminal);
  const now = Date.now();
  const matching = letters.filter((l) => matchesReason(l, values.reason)).sort((a, b) => a.sentAt - b.sentAt);
  const shown = matching.slice(0, limit);
  if (values.json) {
    const messages = shown.map((l) => ({ messageId: l.messageId, reason: l.reason, sentAt: new Date(l.sentAt).toISOString(), body: l.body }));
    terminal.out(`${JSON.stringify({ deadLetterQueueUrl: url, matching: matching.length, messages }, undefined, 2)}\n`);
    return 0;
  }
  if (matching.length === 0) {
    terminal.out(`No message${values.reason === undefined ? '' : ` whose reason contains "${values.reason}"`} in the dead-letter queue (${url}).\n`);
    return 0;
  }
  terminal.out(table(['MESSAGE ID', 'AGE', 'REASON', 'BODY'], shown.map((l) => [l.messageId, age(ageOf(l, now)), cut(l.reason, 60), cut(l.body, 80)])));
  terminal.out(`\n${shown.length} of ${matching.length} matching messages, oldest first; --json gives whole reasons and bodies.\n`);
  return 0;
}

async function dlqRedrive(values: Values, terminal: Terminal): Promise<number> {
  const { sqs, queues, dlq } = await deadLetterQueue(values, terminal, true);
  const dryRun = values['dry-run'] === true;
  let matching = 0;
  let moved = 0;
  const problems: Array<{ messageId: string; problem: string }> = [];
  try {
    await dlq.forEachBatch({ holdSeconds: positiveInteger(values, 'visibility-timeout', 120, 43_200) }, async (letters) => {
      const chosen = letters.filter((l) => matchesReason(l, values.reason));
      matching += chosen.length;
      const events: DeadLetter[] = [];
      for (const letter of chosen) {
        const problem = notAnEvent(letter);
        if (problem) problems.push({ messageId: letter.messageId, problem: `${problem}; it stays in the dead-letter queue` });
        else events.push(letter);
      }
      if (dryRun) {
        moved += events.length;
        return;
      }
      // Delete only what the events queue accepted: a command killed in between leaves a copy in
      // both queues, and the consumer stores the event once.
      const { accepted, failed } = await sendToQueue(sqs, queues.queueUrl, events);
      for (const { letter, problem } of failed) problems.push({ messageId: letter.messageId, problem: `the events queue did not accept it (${problem}); it stays in the dead-letter queue` });
      const undeleted = await dlq.delete(accepted);
      for (const letter of undeleted) problems.push({ messageId: letter.messageId, problem: 'sent, but not deleted from the dead-letter queue: a later redrive sends it again, and the consumer stores it once' });
      moved += accepted.length;
    });
    await dlq.release();
  } finally {
    sqs.destroy();
  }
  const report = {
    deadLetterQueueUrl: queues.deadLetterQueueUrl,
    queueUrl: queues.queueUrl,
    reason: values.reason,
    dryRun,
    matching,
    moved,
    notMoved: matching - moved,
    problems,
  };
  if (values.json) {
    terminal.out(`${JSON.stringify(report, undefined, 2)}\n`);
  } else {
    const verb = dryRun ? 'would move' : 'moved';
    terminal.out(`${matching} matching messages${values.reason === undefined ? '' : ` (reason contains "${values.reason}")`}: ${verb} ${moved} to the events queue, ${matching - moved} not.\n`);
    if (problems.length > 0) terminal.out(`\n${table(['MESSAGE ID', 'NOT MOVED, BECAUSE'], problems.map((p) => [p.messageId, cut(p.problem, 160)]))}`);
  }
  if (problems.length > 0) {
    terminal.err(`kx-events: ${problems.length} messages were not moved. Fix what they say (an event that breaks the contract must be corrected at its producer), then run the command again: it is safe to repeat.\n`);
    return 1;
  }
  return 0;
}

/** `--since`: a duration back from now (90m, 24h, 7d) or an ISO 8601 time; in ms since the epoch. */
export function parseSince(given: string, now = Date.now()): number {
  const duration = /^(\d+)\s*(s|m|h|d)$/.exec(given.trim());
  if (duration) return now - Number(duration[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 's' | 'm' | 'h' | 'd'];
  const time = Date.parse(given);
  if (/^\d{4}-\d{2}-\d{2}/.test(given) && !Number.isNaN(time)) return time;
  throw new UsageError(`--since must be a duration (90m, 24h, 7d) or an ISO 8601 time, got "${given}"`);
}

async function replay(values: Values, terminal: Terminal): Promise<number> {
  const logGroup = values['log-group'];
  if (!logGroup) throw new UsageError('replay-unpublished needs --log-group NAME: the producer function\'s log group, such as /aws/lambda/my-function');
  const since = parseSince(values.since ?? '24h');
  const { queueUrl } = await resolveQueues(target(values), ['queueUrl']);
  const report = await replayUnpublished({ logGroup, since, queueUrl, dryRun: values['dry-run'] === true, region: values.region }, terminal);
  if (values.json) {
    terminal.out(`${JSON.stringify({ ...report, queueUrl }, undefined, 2)}\n`);
  } else {
    terminal.out(table(['FOUND', report.dryRun ? 'WOULD SEND' : 'SENT', 'SKIPPED (REPEATS)', 'FAILED'], [[report.found, report.sent, report.skipped, report.failed].map(String)]));
    if (report.problems.length > 0) {
      terminal.out(`\n${table(['WHERE', 'EVENT ID', 'NOT SENT, BECAUSE'], report.problems.map((p) => [p.source ?? '', p.eventId ?? '', cut(p.problem, 160)]))}`);
    }
  }
  if (report.failed > 0) {
    terminal.err(`kx-events: ${report.failed} unpublished records could not be replayed (listed above). Correct those events and publish them, or, if the queue refused them, run the command again: it is safe to repeat.\n`);
    return 1;
  }
  return 0;
}
