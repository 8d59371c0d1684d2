/**
 * Moves messages that can never be stored to the dead-letter queue at once: the
 * original body and message attributes, plus the reason as an attribute. SQS takes
 * at most 10 attributes a message: when the originals and the reason are more, the
 * first 8 originals stay attributes and the others travel as JSON in one more.
 */
import type { MessageAttributeValue, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { batchedRequests } from './batched-requests';
import { AWS_CLIENT_CONFIG } from './configuration';

/** The message attribute that carries why a message was dead-lettered. */
export const REASON_ATTRIBUTE = 'kx-events.reason';
/**
 * The message attribute that carries, as JSON, the original attributes beyond what SQS
 * allows beside the reason: `{ "<name>": { "DataType": …, "StringValue": … | "BinaryValue": "<base64>" } }`.
 */
export const MORE_ATTRIBUTES_ATTRIBUTE = 'kx-events.attributes';
/** Longer reasons are cut to this many UTF-16 code units. */
const MAX_REASON_LENGTH = 1_000;
/** SQS's limit of message attributes on one message. */
const MAX_ATTRIBUTES = 10;
/** SendMessageBatch takes at most 10 entries and 256 KiB in all. */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 262_144;

export interface DeadLetter {
  readonly record: SQSRecord;
  readonly reason: string;
}

/**
 * The SQS SDK, loaded when a first message is dead-lettered: most containers never
 * dead-letter, and loading it would add tens of milliseconds to every cold start.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sqsSdk = (): typeof import('@aws-sdk/client-sqs') => require('@aws-sdk/client-sqs');

export class DeadLetterQueue {
  /** Created when a first message is dead-lettered. */
  private sqs?: SQSClient;

  constructor(private readonly queueUrl: string) {}

  /**
   * Sends the letters by `deadline` (epoch milliseconds); returns the message ids of those
   * that could not be sent (the caller reports them as batch item failures, so none is lost).
   */
  async send(letters: readonly DeadLetter[], deadline: number): Promise<Set<string>> {
    const unsent = new Set<string>();
    const requests = batchedRequests(letters.map(entry), { maxEntries: MAX_ENTRIES, maxBytes: MAX_REQUEST_BYTES, bytes: entryBytes });
    await Promise.all(requests.map(async (entries) => {
      try {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('the invocation\'s deadline has passed');
        const { SQSClient, SendMessageBatchCommand } = sqsSdk();
        this.sqs ??= new SQSClient(AWS_CLIENT_CONFIG);
        const command = new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries });
        const out = await this.sqs.send(command, { abortSignal: AbortSignal.timeout(left) });
        for (const failed of out.Failed ?? []) unsent.add(letters[Number(failed.Id)].record.messageId);
      } catch {
        for (const e of entries) unsent.add(letters[Number(e.Id)].record.messageId);
      }
    }));
    return unsent;
  }
}

function entry(letter: DeadLetter, index: number): SendMessageBatchRequestEntry {
  const originals = Object.entries(letter.record.messageAttributes).filter(([name]) => name !== REASON_ATTRIBUTE);
  // With the reason, all of them fit; else 8 stay, and the others go into one attribute of their own.
  const kept = originals.length < MAX_ATTRIBUTES ? originals.length : MAX_ATTRIBUTES - 2;
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of originals.slice(0, kept)) {
    attributes[name] = {
      DataType: value.dataType,
      StringValue: value.stringValue,
      BinaryValue: value.binaryValue === undefined ? undefined : Buffer.from(value.binaryValue, 'base64'),
    };
  }
  if (kept < originals.length) {
    const more = Object.fromEntries(originals.slice(kept).map(([name, value]) => [name, {
      DataType: value.dataType, StringValue: value.stringValue, BinaryValue: value.binaryValue,
    }]));
    attributes[MORE_ATTRIBUTES_ATTRIBUTE] = { DataType: 'String', StringValue: JSON.stringify(more) };
  }
  attributes[REASON_ATTRIBUTE] = { DataType: 'String', StringValue: attributeText(letter.reason) };
  return { Id: String(index), MessageBody: letter.record.body, MessageAttributes: attributes };
}

/** The size SQS counts: the body, and each attribute's name, type and value. */
function entryBytes(e: SendMessageBatchRequestEntry): number {
  let bytes = Buffer.byteLength(e.MessageBody ?? '');
  for (const [name, value] of Object.entries(e.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '')
      + Buffer.byteLength(value.StringValue ?? '') + (value.BinaryValue?.length ?? 0);
  }
  return bytes;
}

/** One line, within the length limit, in the characters SQS allows in an attribute. */
function attributeText(reason: string): string {
  const clean = reason.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');
  if (clean.length <= MAX_REASON_LENGTH) return clean;
  // The cut never splits a surrogate pair, which SQS would refuse as an unpaired surrogate.
  let cut = MAX_REASON_LENGTH - 1;
  const last = clean.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${clean.slice(0, cut)}…`;
}
