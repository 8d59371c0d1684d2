import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { PipelineDatabase } from './database';
import type { PipelineNetwork } from './network';

export interface DatabaseProxyOptions {
  readonly network: PipelineNetwork;
  readonly database: PipelineDatabase;
  /** The secret the consumer connects with, which the proxy authenticates it against. */
  readonly writerSecret: secretsmanager.ISecret;
}

/** The port an RDS Proxy for PostgreSQL listens on, whatever the database's port. */
export const PROXY_PORT = 5432;

/**
 * An RDS Proxy in front of the database, for the consumer: TLS required, the writer's secret registered
 * with it, in the functions' subnets, admitting the functions' security group only.
 */
export function createDatabaseProxy(scope: Construct, { network, database, writerSecret }: DatabaseProxyOptions): rds.DatabaseProxy {
  const securityGroup = new ec2.SecurityGroup(scope, 'ProxySecurityGroup', {
    vpc: network.vpc,
    description: 'kx-events RDS Proxy: PostgreSQL from the consumer, to the database',
    allowAllOutbound: false,
  });
  const proxy = new rds.DatabaseProxy(scope, 'Proxy', {
    proxyTarget: database.proxyTarget,
    secrets: [writerSecret],
    vpc: network.vpc,
    vpcSubnets: network.functionSubnets,
    securityGroups: [securityGroup],
    requireTLS: true,
    iamAuth: false,
    debugLogging: false,
  });
  database.connections.allowFrom(securityGroup, ec2.Port.tcp(database.port), 'PostgreSQL from the RDS Proxy');
  proxy.connections.allowFrom(network.functionSecurityGroup, ec2.Port.tcp(PROXY_PORT), 'PostgreSQL from the consumer');
  return proxy;
}
