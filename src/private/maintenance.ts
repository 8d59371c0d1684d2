import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IDependable } from 'constructs';
import { acknowledgeMaintenanceFindings } from './acknowledged-findings';
import { CONSUMER_METRICS_DIMENSION, CONSUMER_METRICS_NAMESPACE } from './consumer-metrics';
import { MaintenanceFunction } from './maintenance-function';
import { PARTITION_DAYS_AHEAD_METRIC } from './maintenance-metrics';

export interface PartitionMaintenanceProps {
  /** Events that occurred longer ago are dropped, a day's partition at a time. @default - kept forever */
  readonly retention?: Duration;
  readonly runtime: lambda.Runtime;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
  /** The migration's environment: the admin secret and how to reach the database. */
  readonly environment: Readonly<Record<string, string>>;
  /** The admin secret, which the maintenance reads. */
  readonly databaseSecret: secretsmanager.ISecret;
  readonly encryptionKey: kms.IKey;
  readonly logGroup: logs.ILogGroup;
  /** The schema: the schedule starts once it is migrated. */
  readonly schema: IDependable;
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/** How often the maintenance runs: with a week of partitions made ahead, a few missed runs change nothing. */
const SCHEDULE = Duration.hours(1);

/**
 * The events table's lifecycle (lambda/maintenance.lambda.ts, on a schedule): makes the
 * partitions of the days ahead and drops those past `retention`, as the admin. Two
 * alarms: a run failed, or tomorrow has no partition (which a maintenance that stopped
 * running raises too: no metric is breaching).
 */
export class PartitionMaintenance extends Construct {
  public readonly function: lambda.Function;
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: PartitionMaintenanceProps) {
    super(scope, id);
    this.function = new MaintenanceFunction(this, 'Function', {
      description: 'kx-events: makes the events table\'s partitions ahead, and drops those past retention',
      runtime: props.runtime,
      architecture: lambda.Architecture.ARM_64,
      // Turning the links into a dropped partition into claims may take minutes (lambda/maintenance.lambda.ts).
      timeout: Duration.minutes(15),
      memorySize: 256,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      environment: {
        ...props.environment,
        ...(props.retention ? { RETENTION_DAYS: String(props.retention.toDays()) } : {}),
      },
      environmentEncryption: props.encryptionKey,
      logGroup: props.logGroup,
    });
    props.databaseSecret.grantRead(this.function);
    const schedule = new events.Rule(this, 'Schedule', {
      description: 'kx-events: the events table\'s partition maintenance',
      schedule: events.Schedule.rate(SCHEDULE),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2 })],
    });
    schedule.node.addDependency(props.schema);
    acknowledgeMaintenanceFindings(this.function);

    const daysAhead = new cloudwatch.Metric({
      namespace: CONSUMER_METRICS_NAMESPACE,
      metricName: PARTITION_DAYS_AHEAD_METRIC,
      dimensionsMap: { [CONSUMER_METRICS_DIMENSION]: this.function.functionName },
      statistic: cloudwatch.Stats.MINIMUM,
      period: Duration.hours(3),
    });
    this.alarms = [
      new cloudwatch.Alarm(this, 'FailedAlarm', {
        alarmDescription: 'kx-events: the partition maintenance failed. Read its log; the next hourly run tries again.',
        metric: this.function.metricErrors({ period: SCHEDULE, statistic: cloudwatch.Stats.SUM }),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'NoPartitionAheadAlarm', {
        alarmDescription: 'kx-events: no partition exists for tomorrow\'s events (or the maintenance stopped reporting). They would go to events_default until one does: run the maintenance function.',
        metric: daysAhead,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    ];
    if (props.alarmAction) {
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(props.alarmAction);
        alarm.addOkAction(props.alarmAction);
      }
    }
  }
}
