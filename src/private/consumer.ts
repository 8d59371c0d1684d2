import { Tokenization } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IDependable } from 'constructs';
import { ConsumerFunction } from './consumer-function';
import { PROXY_PORT } from './database-proxy';
import type { PipelineNetwork } from './network';
import type { PipelineSettings } from './pipeline-settings';
import { RDS_CA_BUNDLE } from './schema';

export interface ConsumerOptions {
  readonly settings: PipelineSettings;
  readonly network: PipelineNetwork;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Where the consumer connects: the database's endpoint, or the proxy's. */
  readonly databaseEndpoint: rds.Endpoint;
  /** The proxy the consumer connects through, when there is one. */
  readonly proxy?: rds.IDatabaseProxy;
  /** The writer role's secret: the consumer's only credentials. */
  readonly writerSecret: secretsmanager.ISecret;
  readonly encryptionKey: kms.IKey;
  /** What must exist before the consumer receives anything: the schema. */
  readonly schema: IDependable;
  /** A log group of the pipeline. */
  readonly logGroup: (id: string) => logs.ILogGroup;
}

export interface PipelineConsumer {
  readonly consumer: lambda.Function;
  readonly eventSourceMapping: lambda.EventSourceMapping;
}

/**
 * The consumer, which stores each batch of events as the writer role, and the event source mapping that
 * feeds it from the events queue once the schema exists.
 */
export function createConsumer(scope: Construct, options: ConsumerOptions): PipelineConsumer {
  const { settings, network, proxy } = options;
  const consumer = new ConsumerFunction(scope, 'Consumer', {
    description: 'kx-events: stores tracked events from the queue in PostgreSQL',
    runtime: settings.runtime,
    architecture: lambda.Architecture.ARM_64,
    timeout: settings.consumerTimeout,
    memorySize: settings.consumerMemorySize,
    vpc: network.vpc,
    vpcSubnets: network.functionSubnets,
    securityGroups: [network.functionSecurityGroup],
    environment: {
      DB_SECRET_ARN: options.writerSecret.secretArn,
      // They override the secret's host, port and database: the proxy's endpoint, when there is one.
      DB_HOST: proxy ? proxy.endpoint : options.databaseEndpoint.hostname,
      DB_PORT: proxy ? `${PROXY_PORT}` : Tokenization.stringifyNumber(options.databaseEndpoint.port),
      DB_NAME: settings.databaseName,
      NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE,
      DEAD_LETTER_QUEUE_URL: options.deadLetterQueue.queueUrl,
      MAX_RECEIVE_COUNT: Tokenization.stringifyNumber(settings.maxReceiveCount),
    },
    environmentEncryption: options.encryptionKey,
    logGroup: options.logGroup('ConsumerLogGroup'),
  });
  options.queue.grantConsumeMessages(consumer);
  options.deadLetterQueue.grantSendMessages(consumer);
  options.writerSecret.grantRead(consumer);
  const eventSourceMapping = new lambda.EventSourceMapping(scope, 'EventSourceMapping', {
    target: consumer,
    eventSourceArn: options.queue.queueArn,
    batchSize: settings.batchSize,
    maxBatchingWindow: settings.maxBatchingWindow,
    maxConcurrency: settings.maxConcurrency,
    reportBatchItemFailures: true,
    // The mapping's own counts (polled, invoked, failed, deleted events), which one alarm watches.
    metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
  });
  // Nothing is consumed before the table exists, nor before the consumer may read the queue.
  eventSourceMapping.node.addDependency(options.schema, consumer.role!);
  return { consumer, eventSourceMapping };
}
