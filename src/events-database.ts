import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { DatabaseShape } from './private/database-shape';

/**
 * The options of a new Aurora PostgreSQL cluster on Serverless v2.
 */
export interface AuroraServerlessV2Options {
  /**
   * The capacity the cluster scales down to, in Aurora capacity units (ACUs): 0 to 256, in steps of 0.5.
   * 0 lets the cluster pause when it has no connections; it resumes on the next one, which then waits
   * about 15 seconds (the consumer's events wait in the queue meanwhile).
   *
   * @default 0.5
   */
  readonly minCapacity?: number;

  /**
   * The capacity the cluster scales up to, in ACUs: 1 to 256, in steps of 0.5, and at least `minCapacity`.
   *
   * @default 2
   */
  readonly maxCapacity?: number;

  /**
   * The number of Serverless v2 readers beside the writer: 0 to 15. The first scales with the writer,
   * so it can take over on failover at the writer's capacity.
   *
   * @default 0
   */
  readonly readers?: number;
}

/**
 * Where the events live: a new RDS instance (the default), a new Aurora PostgreSQL Serverless v2
 * cluster, or a database of your own.
 *
 * @example
 * new KxEventsPipeline(this, 'Events', {
 *   database: EventsDatabase.auroraServerlessV2({ minCapacity: 0.5, maxCapacity: 4 }),
 * });
 */
export class EventsDatabase {
  /**
   * A new RDS for PostgreSQL instance, set by the pipeline's instance props (`databaseInstanceType`,
   * `allocatedStorageGiB`, `maxAllocatedStorageGiB`, `multiAz`) and the props of every new database
   * (`engineVersion`, `backupRetention`, `monitoringInterval`, `deletionProtection`, `removalPolicy`).
   */
  public static instance(): EventsDatabase {
    return new EventsDatabase({ kind: 'instance' });
  }

  /**
   * A new Aurora PostgreSQL cluster on Serverless v2, with the defaults of the new instance: storage
   * encrypted with the pipeline's key, `rds.force_ssl`, backups, log exports, deletion protection and
   * the removal policy, from the pipeline's props.
   */
  public static auroraServerlessV2(options: AuroraServerlessV2Options = {}): EventsDatabase {
    return new EventsDatabase({ kind: 'auroraServerlessV2', options });
  }

  /**
   * An RDS for PostgreSQL instance of your own, and the secret of a user that may create databases,
   * roles and schemas in it (its master user's, usually: JSON with host, port, username, password).
   *
   * The pipeline creates its database (`databaseName`) there when it is missing, its schema and its roles,
   * and opens the instance's security groups to its functions on the instance's port. It never deletes
   * the instance, nor any data, when it leaves the stack. Import the instance with its `engine`
   * (`rds.DatabaseInstance.fromDatabaseInstanceAttributes`) to put an RDS Proxy in front of it.
   */
  public static fromInstance(instance: rds.IDatabaseInstance, adminSecret: secretsmanager.ISecret): EventsDatabase {
    return new EventsDatabase({ kind: 'existingInstance', database: instance, adminSecret });
  }

  /**
   * An Aurora PostgreSQL cluster of your own, and the secret of a user that may create databases, roles
   * and schemas in it (its master user's, usually). The pipeline uses the cluster's writer endpoint;
   * otherwise as `fromInstance`.
   */
  public static fromCluster(cluster: rds.IDatabaseCluster, adminSecret: secretsmanager.ISecret): EventsDatabase {
    return new EventsDatabase({ kind: 'existingCluster', database: cluster, adminSecret });
  }

  /** @internal */
  public readonly _shape: DatabaseShape;

  private constructor(shape: DatabaseShape) {
    this._shape = shape;
  }
}
