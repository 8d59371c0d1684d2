import { Annotations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { isNewDatabase } from './database-shape';
import type { PipelineSettings } from './pipeline-settings';

export interface NetworkOptions {
  readonly settings: PipelineSettings;
  readonly vpc?: ec2.IVpc;
  readonly functionSubnets?: ec2.SubnetSelection;
  readonly databaseSubnets?: ec2.SubnetSelection;
  /** A log group of the pipeline, for the new VPC's flow log. */
  readonly logGroup: (id: string) => logs.ILogGroup;
}

/** Where the pipeline's parts run, and who may talk to whom. */
export interface PipelineNetwork {
  readonly vpc: ec2.IVpc;
  /** The subnets of the consumer, the migration, the rotation functions, the proxy and the endpoints. */
  readonly functionSubnets: ec2.SubnetSelection;
  /** The subnets of a database the pipeline creates. */
  readonly databaseSubnets: ec2.SubnetSelection;
  /** The consumer's and the migration's: out on 443 and to the database's port only. */
  readonly functionSecurityGroup: ec2.SecurityGroup;
  /** The credential rotation functions': out on 443 and to the database's port only. */
  readonly rotationSecurityGroup: ec2.SecurityGroup;
}

/**
 * The AWS APIs that the pipeline's functions in the VPC call: the consumer (SQS, to dead-letter; Secrets
 * Manager, its secret; EventBridge, with fan-out), the migration (Secrets Manager) and the rotation functions (Secrets Manager).
 * Secrets Manager and SQS call KMS themselves, Lambda writes the functions' logs and decrypts their
 * environment outside the VPC, and the custom-resource framework's function runs outside it.
 */
const ENDPOINT_SERVICES: Array<[id: string, service: ec2.InterfaceVpcEndpointAwsService]> = [
  ['SecretsManagerEndpoint', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
  ['SqsEndpoint', ec2.InterfaceVpcEndpointAwsService.SQS],
];
/** With fan-out, the consumer also calls EventBridge (PutEvents). */
const FAN_OUT_ENDPOINT: [id: string, service: ec2.InterfaceVpcEndpointAwsService] = ['EventBridgeEndpoint', ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE];

/**
 * The VPC (given, or a new one), the subnets of the functions and of the database, the functions' and the
 * rotation's security groups, and, with `createVpcEndpoints`, an interface endpoint for each API they call.
 */
export function createNetwork(scope: Construct, options: NetworkOptions): PipelineNetwork {
  const { settings } = options;
  const withNat = settings.natGateways > 0;
  const vpc = options.vpc ?? new ec2.Vpc(scope, 'Vpc', {
    maxAzs: 2,
    natGateways: settings.natGateways,
    restrictDefaultSecurityGroup: true,
    // Without NAT, nothing needs a public subnet: the functions reach AWS through the endpoints.
    subnetConfiguration: [
      ...withNat ? [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }] : [],
      { name: FUNCTIONS_SUBNETS, subnetType: withNat ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      { name: DATABASE_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ],
    flowLogs: {
      FlowLog: {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(options.logGroup('FlowLogGroup')),
        trafficType: ec2.FlowLogTrafficType.REJECT,
      },
    },
  });
  const newVpcWithoutNat = !options.vpc && !withNat;
  const functionSubnets = options.functionSubnets
    ?? (newVpcWithoutNat ? { subnetGroupName: FUNCTIONS_SUBNETS } : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
  let databaseSubnets = options.databaseSubnets
    ?? (newVpcWithoutNat ? { subnetGroupName: DATABASE_SUBNETS } : { subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
  if (!options.databaseSubnets && isNewDatabase(settings.database) && vpc.isolatedSubnets.length === 0) {
    databaseSubnets = functionSubnets;
    Annotations.of(scope).addWarningV2('kx-events:noIsolatedSubnets',
      'The VPC has no isolated subnets: the database is placed in its private subnets with egress. It stays unreachable from outside its security group.');
  }
  if (!settings.createVpcEndpoints && vpc.selectSubnets(functionSubnets).subnets.every(subnet => vpc.isolatedSubnets.includes(subnet))) {
    Annotations.of(scope).addWarningV2('kx-events:functionsWithoutEgress',
      'functionSubnets are isolated and createVpcEndpoints is false: the functions reach Secrets Manager and SQS only if the VPC has interface endpoints for them, with private DNS.');
  }

  const functionSecurityGroup = new ec2.SecurityGroup(scope, 'FunctionSecurityGroup', {
    vpc,
    description: 'kx-events consumer and migration: HTTPS to AWS APIs, PostgreSQL to the database',
    allowAllOutbound: false,
  });
  functionSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to SQS, Secrets Manager and KMS');
  const rotationSecurityGroup = new ec2.SecurityGroup(scope, 'RotationSecurityGroup', {
    vpc,
    description: 'kx-events credential rotation: HTTPS to Secrets Manager, PostgreSQL to the database',
    allowAllOutbound: false,
  });
  rotationSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to Secrets Manager');

  if (settings.createVpcEndpoints) {
    const endpointSecurityGroup = new ec2.SecurityGroup(scope, 'VpcEndpointSecurityGroup', {
      vpc,
      description: 'kx-events interface endpoints: HTTPS from the pipeline functions',
      allowAllOutbound: false,
    });
    endpointSecurityGroup.addIngressRule(functionSecurityGroup, ec2.Port.tcp(443), 'HTTPS from the consumer and the migration');
    endpointSecurityGroup.addIngressRule(rotationSecurityGroup, ec2.Port.tcp(443), 'HTTPS from the credential rotation');
    for (const [id, service] of settings.fanOutEnabled ? [...ENDPOINT_SERVICES, FAN_OUT_ENDPOINT] : ENDPOINT_SERVICES) {
      new ec2.InterfaceVpcEndpoint(scope, id, {
        vpc,
        service,
        subnets: { ...functionSubnets, onePerAz: true },
        securityGroups: [endpointSecurityGroup],
        privateDnsEnabled: true,
        open: false,
      });
    }
  }

  return { vpc, functionSubnets, databaseSubnets, functionSecurityGroup, rotationSecurityGroup };
}

/** The subnet groups of the VPC the pipeline creates. */
const FUNCTIONS_SUBNETS = 'Functions';
const DATABASE_SUBNETS = 'Database';
