/**
 * The migration custom resource (an onEvent handler for the CDK Provider framework):
 * on Create and Update it brings the schema up to date; on Delete it leaves the
 * data alone. It reads the same secret as the consumer (DB_SECRET_ARN, DB_SSL_MODE).
 * A failure throws, which the Provider framework reports to CloudFormation.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { databaseSettings } from './lib/configuration';
import { DatabaseConnection } from './lib/database';
import { MIGRATIONS, runMigrations } from './lib/migrations';
import { log } from './lib/telemetry';

/** One schema per database: the resource keeps this id, so an Update never replaces it. */
const SCHEMA_RESOURCE_ID = 'kx-events-schema';

export interface MigrationResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly SchemaVersion: string; readonly Applied: string };
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<MigrationResponse> {
  if (event.RequestType === 'Delete') {
    log('INFO', 'schema kept: the events table outlives the stack resource', { requestType: event.RequestType });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  // A migration may build an index on a large table: it gets up to 10 minutes (the
  // Provider framework allows the handler up to 15).
  const database = new DatabaseConnection(databaseSettings(process.env), { applicationName: 'kx-events-migrate', statementTimeoutMs: 600_000 });
  try {
    const { applied } = await database.use(runMigrations);
    const schemaVersion = MIGRATIONS[MIGRATIONS.length - 1].version;
    log('INFO', 'schema migrated', { requestType: event.RequestType, applied, schemaVersion });
    return { PhysicalResourceId: SCHEMA_RESOURCE_ID, Data: { SchemaVersion: schemaVersion, Applied: applied.join(',') } };
  } finally {
    await database.end();
  }
}
