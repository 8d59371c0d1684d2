/**
 * Which pipeline a command works on: the queue URLs, given explicitly or read from the outputs
 * of the stack that holds the KxEventsPipeline (CloudFormation DescribeStacks).
 */
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { CliError, explainAwsError, UsageError } from './errors';

export interface TargetOptions {
  readonly stack?: string;
  readonly queueUrl?: string;
  readonly deadLetterQueueUrl?: string;
  readonly region?: string;
}

export interface PipelineQueues {
  readonly queueUrl?: string;
  readonly deadLetterQueueUrl?: string;
}

/**
 * The construct's outputs: `<construct path>QueueUrl<hash>` and `<construct path>DeadLetterQueueUrl<hash>`
 * (CDK's logical ids), so one stack may hold several pipelines, told apart by their path.
 */
const QUEUE_OUTPUT = /^(.*?)(DeadLetterQueueUrl|QueueUrl)[0-9A-F]{8}$/;

/** The queues of the pipeline; `needs` says which ones the command cannot do without. */
export async function resolveQueues(options: TargetOptions, needs: ReadonlyArray<keyof PipelineQueues>): Promise<Required<PipelineQueues>> {
  let queues: PipelineQueues = { queueUrl: options.queueUrl, deadLetterQueueUrl: options.deadLetterQueueUrl };
  for (const [key, option] of [['queueUrl', '--queue-url'], ['deadLetterQueueUrl', '--dlq-url']] as const) {
    const url = queues[key];
    if (url !== undefined && !/^https?:\/\/[^/]+\/.+/.test(url)) {
      throw new UsageError(`${option} must be a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME), got "${url}"`);
    }
  }
  if (options.stack !== undefined && needs.some((key) => queues[key] === undefined)) {
    queues = { ...await queuesOfStack(options.stack, options.region), ...definedOnly(queues) };
  }
  const missing = needs.filter((key) => queues[key] === undefined);
  if (missing.length > 0) {
    const flags = missing.map((key) => (key === 'queueUrl' ? '--queue-url' : '--dlq-url')).join(' and ');
    throw new UsageError(`this command needs ${flags}, or --stack NAME (the stack that holds the KxEventsPipeline)`);
  }
  return queues as Required<PipelineQueues>;
}

function definedOnly(queues: PipelineQueues): PipelineQueues {
  return Object.fromEntries(Object.entries(queues).filter(([, value]) => value !== undefined));
}

async function queuesOfStack(stack: string, region?: string): Promise<PipelineQueues> {
  const client = new CloudFormationClient({ region });
  let outputs: Output[];
  try {
    const { Stacks = [] } = await client.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = Stacks[0]?.Outputs ?? [];
  } catch (err) {
    if ((err as Error).name === 'ValidationError' && /does not exist/.test((err as Error).message)) {
      throw new CliError(`stack ${stack} does not exist (${(err as Error).message})`, 'Check --stack (the name CloudFormation shows) and the region (AWS_REGION or --region).', { cause: err });
    }
    throw explainAwsError(err, { what: `stack ${stack}`, option: '--stack' });
  } finally {
    client.destroy();
  }
  return pipelineQueues(stack, outputs);
}

/** @internal The queues among a stack's outputs; exported for the test that ties it to the construct's template. */
export function pipelineQueues(stack: string, outputs: readonly Output[]): PipelineQueues {
  const pipelines = new Map<string, { queueUrl?: string; deadLetterQueueUrl?: string }>();
  for (const { OutputKey = '', OutputValue } of outputs) {
    const match = QUEUE_OUTPUT.exec(OutputKey);
    if (!match || !OutputValue) continue;
    const pipeline = pipelines.get(match[1]) ?? {};
    pipeline[match[2] === 'QueueUrl' ? 'queueUrl' : 'deadLetterQueueUrl'] = OutputValue;
    pipelines.set(match[1], pipeline);
  }
  const found = [...pipelines.entries()].filter(([, p]) => p.queueUrl && p.deadLetterQueueUrl);
  if (found.length === 0) {
    throw new CliError(`stack ${stack} has no KxEventsPipeline outputs (an output ...QueueUrl and ...DeadLetterQueueUrl)`,
      'Name the stack that holds the pipeline, or pass --queue-url and --dlq-url.');
  }
  if (found.length > 1) {
    throw new CliError(`stack ${stack} holds ${found.length} pipelines (${found.map(([path]) => path || '(top level)').join(', ')})`,
      'Pass --queue-url and --dlq-url to choose one.');
  }
  return found[0][1];
}
