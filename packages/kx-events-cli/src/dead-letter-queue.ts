/**
 * The dead-letter queue, read and redriven. Reading receives every message and holds it hidden
 * (`holdSeconds`) until the command is done, then lets it go again: nothing is deleted but what a
 * redrive has sent, and only after the events queue accepted the copy. A command killed halfway
 * leaves its messages hidden until their hold ends, and then they are back.
 */
import {
  ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand,
  SendMessageBatchCommand, SQSClient, type Message, type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { describeProblems, validateTrackedEvent } from 'kx-events-decorators';
import { explainAwsError } from './errors';
import { ProgressBar, type Terminal } from './terminal';

/** The message attribute in which the consumer gives the reason it dead-lettered a message. */
export const REASON_ATTRIBUTE = 'kx-events.reason';
/** The reason of a message that SQS moved after maxReceiveCount receives (it carries no attribute). */
export const RETRIES_EXHAUSTED = 'retries exhausted';

/** SQS's most messages per receive, send, delete or visibility change. */
const BATCH = 10;

export interface DeadLetter {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly reason: string;
  /** When it was first sent (for a message SQS moved, to the events queue), in ms since the epoch. */
  readonly sentAt: number;
  readonly attributes: Record<string, MessageAttributeValue>;
}

export interface ReadOptions {
  /** How long each message received stays hidden from other readers unless released. */
  readonly holdSeconds: number;
}

export class DeadLetterQueue {
  private readonly held = new Map<string, string>(); // messageId → receipt handle, not deleted yet

  constructor(private readonly sqs: SQSClient, readonly url: string, private readonly terminal: Terminal) {}

  /**
   * Calls `each` with every batch of messages received, until every message the queue reported at
   * the start was seen (or three receives in a row bring nothing new). Each message is seen once.
   */
  async forEachBatch(options: ReadOptions, each: (letters: DeadLetter[]) => Promise<void>): Promise<void> {
    const total = await this.approximateCount();
    const seen = new Set<string>();
    const progress = new ProgressBar(this.terminal, 'reading the dead-letter queue', total);
    let emptyReceives = 0;
    try {
      while (seen.size < total) {
        const messages = await this.receive(options.holdSeconds, emptyReceives > 0 ? 1 : 0);
        const fresh = messages.filter((m) => !seen.has(m.MessageId!));
        if (fresh.length === 0) {
          // Short polling samples some of the servers: an empty answer is not the end until it repeats.
          if (++emptyReceives >= 3) break;
          continue;
        }
        emptyReceives = 0;
        const letters = fresh.map(toDeadLetter);
        for (const letter of letters) {
          seen.add(letter.messageId);
          this.held.set(letter.messageId, letter.receiptHandle);
        }
        await each(letters);
        progress.update(seen.size, Math.max(total, seen.size));
      }
    } finally {
      progress.done();
    }
  }

  /** Every message, for summary and show; each is let go again at `release()`. */
  async readAll(options: ReadOptions): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    await this.forEachBatch(options, async (batch) => { letters.push(...batch); });
    return letters;
  }

  /** Deletes the letters (their copies were accepted elsewhere); returns those the queue did not delete. */
  async delete(letters: readonly DeadLetter[]): Promise<DeadLetter[]> {
    const failed: DeadLetter[] = [];
    for (let i = 0; i < letters.length; i += BATCH) {
      const chunk = letters.slice(i, i + BATCH);
      const out = await this.call(() => this.sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: this.url,
        Entries: chunk.map((letter, index) => ({ Id: String(index), ReceiptHandle: letter.receiptHandle })),
      })));
      const failedIds = new Set((out.Failed ?? []).map((entry) => Number(entry.Id)));
      chunk.forEach((letter, index) => (failedIds.has(index) ? failed.push(letter) : this.held.delete(letter.messageId)));
    }
    return failed;
  }

  /** Makes every message still held visible again at once. */
  async release(): Promise<void> {
    const handles = [...this.held.values()];
    this.held.clear();
    for (let i = 0; i < handles.length; i += BATCH) {
      await this.call(() => this.sqs.send(new ChangeMessageVisibilityBatchCommand({
        QueueUrl: this.url,
        Entries: handles.slice(i, i + BATCH).map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 })),
      })));
    }
  }

  private async approximateCount(): Promise<number> {
    const out = await this.call(() => this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.url, AttributeNames: ['ApproximateNumberOfMessages'] })));
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  }

  private async receive(holdSeconds: number, waitSeconds: number): Promise<Message[]> {
    const out = await this.call(() => this.sqs.send(new ReceiveMessageCommand({
      QueueUrl: this.url,
      MaxNumberOfMessages: BATCH,
      VisibilityTimeout: holdSeconds,
      WaitTimeSeconds: waitSeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['SentTimestamp'],
    })));
    return out.Messages ?? [];
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw explainAwsError(err, { what: `the dead-letter queue ${this.url}`, option: '--dlq-url (or --stack)' });
    }
  }
}

function toDeadLetter(message: Message): DeadLetter {
  const attributes = message.MessageAttributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    reason: attributes[REASON_ATTRIBUTE]?.StringValue ?? RETRIES_EXHAUSTED,
    sentAt: Number(message.Attributes?.SentTimestamp ?? Date.now()),
    attributes,
  };
}

export function matchesReason(letter: DeadLetter, reason: string | undefined): boolean {
  return reason === undefined || letter.reason.toLowerCase().includes(reason.toLowerCase());
}

/** Why a dead letter's body cannot go back to the events queue, or undefined when it is an event. */
export function notAnEvent(letter: DeadLetter): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(letter.body);
  } catch (err) {
    return `the body is not JSON (${(err as Error).message})`;
  }
  const problems = validateTrackedEvent(value);
  return problems.length > 0 ? `the body breaks the event contract: ${describeProblems(problems)}` : undefined;
}

export interface SendOutcome {
  readonly accepted: DeadLetter[];
  readonly failed: Array<{ readonly letter: DeadLetter; readonly problem: string }>;
}

/**
 * Sends the letters to the events queue as they came, without the reason attribute; returns
 * those the queue accepted, and why each other one failed.
 */
export async function sendToQueue(sqs: SQSClient, queueUrl: string, letters: readonly DeadLetter[]): Promise<SendOutcome> {
  const accepted: DeadLetter[] = [];
  const failed: SendOutcome['failed'] = [];
  for (let i = 0; i < letters.length; i += BATCH) {
    const chunk = letters.slice(i, i + BATCH);
    let out;
    try {
      out = await sqs.send(new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((letter, index) => ({ Id: String(index), MessageBody: letter.body, MessageAttributes: withoutReason(letter.attributes) })),
      }));
    } catch (err) {
      throw explainAwsError(err, { what: `the events queue ${queueUrl}`, option: '--queue-url (or --stack)' });
    }
    const failures = new Map((out.Failed ?? []).map((entry) => [Number(entry.Id), `${entry.Code}: ${entry.Message}`]));
    chunk.forEach((letter, index) => {
      const problem = failures.get(index);
      if (problem === undefined) accepted.push(letter);
      else failed.push({ letter, problem });
    });
  }
  return { accepted, failed };
}

function withoutReason(attributes: Record<string, MessageAttributeValue>): Record<string, MessageAttributeValue> | undefined {
  const kept = Object.entries(attributes).filter(([name]) => name !== REASON_ATTRIBUTE);
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}
