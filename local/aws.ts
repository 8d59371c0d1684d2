/**
 * The local AWS stand-in as the SDK sees it: fake credentials, one region, and
 * AWS_ENDPOINT_URL pointing at moto. Nothing here can reach real AWS.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';

export const LOCAL_REGION = 'us-east-1';

/** Points every AWS SDK client created from now on at `endpoint`, with fake credentials. */
export function useLocalAws(endpoint: string): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

export interface QueuePairOptions {
  /** @default 3, as KxEventsPipeline */
  readonly maxReceiveCount?: number;
  /** @default 300, as KxEventsPipeline */
  readonly visibilityTimeoutSeconds?: number;
}

export interface QueuePair {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
  readonly maxReceiveCount: number;
}

/** A queue and its dead-letter queue, with a redrive policy at maxReceiveCount. */
export async function createQueuePair(sqs: SQSClient, name: string, options: QueuePairOptions = {}): Promise<QueuePair> {
  const maxReceiveCount = options.maxReceiveCount ?? 3;
  const deadLetterQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
  const deadLetterQueueArn = await queueArn(sqs, deadLetterQueueUrl);
  const queueUrl = (await sqs.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 300),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueueArn, maxReceiveCount }),
    },
  }))).QueueUrl!;
  return { queueUrl, queueArn: await queueArn(sqs, queueUrl), deadLetterQueueUrl, deadLetterQueueArn, maxReceiveCount };
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return out.Attributes!.QueueArn!;
}
