import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as cr from 'aws-cdk-lib/custom-resources';
import { IConstruct } from 'constructs';
import type { PipelineSettings } from './pipeline-settings';
import { known } from './validate-pipeline-settings';

export interface PipelineFindings {
  readonly pipeline: IConstruct;
  readonly settings: PipelineSettings;
  /** The database the pipeline created: undefined for a database of the user's own, whose findings are the user's. */
  readonly database?: rds.DatabaseInstance | rds.DatabaseCluster;
  readonly consumer: lambda.Function;
  readonly migration: lambda.Function;
  readonly migrationProvider: cr.Provider;
}

const LAMBDA_BASIC_EXECUTION = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
const LAMBDA_VPC_ACCESS = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]';
const RDS_ENHANCED_MONITORING = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]';

/** The singleton function aws-cdk-lib adds to the stack for a VPC's restrictDefaultSecurityGroup. */
const RESTRICT_DEFAULT_SG_PROVIDER = 'Custom::VpcRestrictDefaultSGCustomResourceProvider';

/**
 * The findings the pipeline accepts, each acknowledged on the construct it is about, with its reason:
 * cdk-nag's AwsSolutions pack, through aws-cdk-lib's own Validations API (the library has no dependency
 * on cdk-nag), and checkov's, as the template metadata checkov reads (`Metadata.checkov.skip`).
 */
export function acknowledgePipelineFindings(findings: PipelineFindings): void {
  const { pipeline, settings, database, consumer, migration, migrationProvider } = findings;

  if (database) acknowledgeDatabaseFindings(database, settings);

  for (const fn of [consumer, migration]) {
    acknowledge(fn, LAMBDA_BASIC_EXECUTION, 'AWS\'s managed Lambda policy: writes the function\'s own CloudWatch logs.');
    acknowledge(fn, LAMBDA_VPC_ACCESS, 'AWS\'s managed Lambda policy: the VPC network interfaces, whose actions have no resource-level scoping.');
  }
  acknowledgeKeyWildcards(consumer, 'the encrypted dead-letter queue');
  skipCheckov(consumer, 'CKV_AWS_115',
    'The event source mapping\'s maxConcurrency bounds the consumer; reserved concurrency would take capacity from the account, and below maxConcurrency it throttles the poller.');
  skipCheckov(consumer, 'CKV_AWS_116',
    'A function dead-letter queue is for asynchronous invocations; the event source mapping invokes synchronously, and the events queue\'s redrive policy is the consumer\'s dead-letter queue.');

  const deployTimeReason = 'invoked only by CloudFormation during a deployment, which a failure fails; it needs no';
  const provider = migrationProvider.node.findChild('framework-onEvent') as lambda.Function;
  for (const fn of [migration, provider]) {
    skipCheckov(fn, 'CKV_AWS_115', `A deploy-time function, ${deployTimeReason} concurrency limit.`);
    skipCheckov(fn, 'CKV_AWS_116', `A deploy-time function, ${deployTimeReason} dead-letter queue.`);
  }
  skipCheckov(provider, 'CKV_AWS_117',
    'The custom-resource framework\'s function calls only the Lambda API and CloudFormation\'s response URL; it reaches no resource inside the VPC.');

  acknowledge(migrationProvider, LAMBDA_BASIC_EXECUTION, 'The Provider framework\'s function: writes its own CloudWatch logs.');
  const migrationLogicalId = Stack.of(migration).getLogicalId(migration.node.defaultChild as CfnResource);
  acknowledge(migrationProvider, `AwsSolutions-IAM5[Resource::<${migrationLogicalId}.Arn>:*]`,
    'The Provider framework invokes the migration function, any of its versions, and nothing else.');

  // The VPC the pipeline creates restricts its default security group through a function aws-cdk-lib
  // adds to the stack (not to the pipeline), once for every VPC of the stack.
  const restrictDefaultSg = Stack.of(pipeline).node.tryFindChild(RESTRICT_DEFAULT_SG_PROVIDER)?.node.tryFindChild('Handler');
  if (restrictDefaultSg instanceof CfnResource) {
    const reason = 'aws-cdk-lib\'s function that removes the rules of a new VPC\'s default security group, once, at deploy time; it calls only the EC2 API';
    skipCheckov(restrictDefaultSg, 'CKV_AWS_115', `${reason}, and needs no concurrency limit.`);
    skipCheckov(restrictDefaultSg, 'CKV_AWS_116', `${reason}, and needs no dead-letter queue.`);
    skipCheckov(restrictDefaultSg, 'CKV_AWS_117', `${reason}, from outside the VPC it prepares.`);
  }
}

/** The findings on a database the pipeline creates. */
function acknowledgeDatabaseFindings(database: rds.DatabaseInstance | rds.DatabaseCluster, settings: PipelineSettings): void {
  acknowledge(database, 'AwsSolutions-RDS11',
    'Port obscurity is no control: the database is in isolated subnets, and its security group admits 5432 only from the pipeline\'s functions and rotation.');
  const iamAuthReason = 'The functions authenticate with the rotated Secrets Manager password over verified TLS; IAM database authentication would be a second, unused way in.';
  if (database instanceof rds.DatabaseInstance) {
    if (!settings.multiAz) {
      const reason = 'multiAz is a prop, false by default for cost; queued events wait out a failover, since the queue retains them.';
      acknowledge(database, 'AwsSolutions-RDS3', reason);
      skipCheckov(database, 'CKV_AWS_157', reason);
    }
    skipCheckov(database, 'CKV_AWS_161', iamAuthReason);
  } else {
    acknowledge(database, 'AwsSolutions-RDS6', iamAuthReason);
    skipCheckov(database, 'CKV_AWS_162', iamAuthReason);
  }
  // cfn-lint's W3691 takes a major version alone ('16') for a retired one; RDS does not: "If a major
  // version is specified but a minor version is not, Amazon RDS defaults to a recent release of the major
  // version you have specified" (RDS User Guide, PostgreSQL.Concepts.General.DBVersions).
  if (!settings.engineVersion.includes('.')) ignoreCfnLint(database, 'W3691');
  const monitoringRole = database.node.tryFindChild('MonitoringRole');
  if (monitoringRole) {
    acknowledge(monitoringRole, RDS_ENHANCED_MONITORING, 'AWS\'s managed policy for RDS Enhanced Monitoring: writes the RDSOSMetrics log group only.');
  } else if (known(settings.monitoringInterval) && database instanceof rds.DatabaseInstance) {
    skipCheckov(database, 'CKV_AWS_118', 'monitoringInterval is 0: Enhanced Monitoring was turned off by the prop.');
  }
}

/**
 * The findings that `addProducer` brings into a producer's own policy: sending to the encrypted events
 * queue needs the key's wildcard actions, which cdk-nag reports on the producer.
 */
export function acknowledgeProducerFindings(producer: lambda.IFunction): void {
  acknowledgeKeyWildcards(producer, 'the encrypted events queue');
}

/** The findings on the scheduled maintenance function (src/private/maintenance.ts), with their reasons. */
export function acknowledgeMaintenanceFindings(maintenance: lambda.Function): void {
  acknowledge(maintenance, LAMBDA_BASIC_EXECUTION, 'AWS\'s managed Lambda policy: writes the function\'s own CloudWatch logs.');
  acknowledge(maintenance, LAMBDA_VPC_ACCESS, 'AWS\'s managed Lambda policy: the VPC network interfaces, whose actions have no resource-level scoping.');
  skipCheckov(maintenance, 'CKV_AWS_115',
    'Invoked once an hour by its schedule; runs at the same time are harmless (they queue on an advisory lock), so reserved concurrency would only take capacity from the account.');
  skipCheckov(maintenance, 'CKV_AWS_116',
    'A failed run raises the maintenance-failure alarm and the next hourly run does the same work again (it is idempotent): there is no event to keep in a dead-letter queue.');
}

/** The KMS actions that aws-cdk-lib's grantSendMessages grants with a wildcard, on the queue's one key. */
function acknowledgeKeyWildcards(fn: lambda.IFunction, queue: string): void {
  for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
    acknowledge(fn, `AwsSolutions-IAM5[Action::${action}]`, `Sending to ${queue}, on this one key only (aws-cdk-lib's grantSendMessages).`);
  }
}

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** One checkov check skipped on a resource, with its reason, in the template's `Metadata.checkov.skip`. */
export interface CheckovSkip {
  readonly id: string;
  readonly comment: string;
}

/** Adds a checkov skip to the resource (a construct's default child, or the resource itself), keeping the others. */
function skipCheckov(scope: IConstruct, id: string, comment: string): void {
  const resource = scope instanceof CfnResource ? scope : scope.node.defaultChild as CfnResource;
  const checkov = (resource.getMetadata('checkov') ?? { skip: [] }) as { skip: CheckovSkip[] };
  resource.addMetadata('checkov', { ...checkov, skip: [...checkov.skip, { id, comment }] });
}

/** Makes cfn-lint skip one of its checks on the resource (a construct's default child), in its template metadata. */
function ignoreCfnLint(scope: IConstruct, id: string): void {
  const resource = scope.node.defaultChild as CfnResource;
  resource.addMetadata('cfn-lint', { config: { ignore_checks: [id] } });
}
