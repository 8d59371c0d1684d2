import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as cr from 'aws-cdk-lib/custom-resources';
import { IConstruct } from 'constructs';

export interface PipelineFindings {
  readonly database: rds.DatabaseInstance;
  readonly multiAz: boolean;
  readonly consumer: lambda.IFunction;
  readonly migration: lambda.IFunction;
  readonly migrationProvider: cr.Provider;
}

const LAMBDA_BASIC_EXECUTION = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
const LAMBDA_VPC_ACCESS = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]';

/**
 * The cdk-nag AwsSolutions findings the pipeline accepts, each acknowledged on the construct it is
 * about, with its reason. Acknowledging goes through aws-cdk-lib's own Validations API: the library
 * has no dependency on cdk-nag.
 */
export function acknowledgePipelineFindings(findings: PipelineFindings): void {
  const { database, consumer, migration, migrationProvider } = findings;

  acknowledge(database, 'AwsSolutions-RDS11',
    'Port obscurity is no control: the database is in isolated subnets, and its security group admits 5432 only from the pipeline\'s functions and rotation.');
  if (!findings.multiAz) {
    acknowledge(database, 'AwsSolutions-RDS3',
      'multiAz is a prop, false by default for cost; queued events wait out a failover, since the queue retains them.');
  }

  for (const fn of [consumer, migration]) {
    acknowledge(fn, LAMBDA_BASIC_EXECUTION, 'AWS\'s managed Lambda policy: writes the function\'s own CloudWatch logs.');
    acknowledge(fn, LAMBDA_VPC_ACCESS, 'AWS\'s managed Lambda policy: the VPC network interfaces, whose actions have no resource-level scoping.');
  }
  acknowledge(consumer, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    'Sending to the encrypted dead-letter queue, on this one key only (aws-cdk-lib\'s grantSendMessages).');
  acknowledge(consumer, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
    'Sending to the encrypted dead-letter queue, on this one key only (aws-cdk-lib\'s grantSendMessages).');

  acknowledge(migrationProvider, LAMBDA_BASIC_EXECUTION, 'The Provider framework\'s function: writes its own CloudWatch logs.');
  const migrationLogicalId = Stack.of(migration).getLogicalId(migration.node.defaultChild as CfnResource);
  acknowledge(migrationProvider, `AwsSolutions-IAM5[Resource::<${migrationLogicalId}.Arn>:*]`,
    'The Provider framework invokes the migration function, any of its versions, and nothing else.');
}

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
