/**
 * The migration custom resource (an onEvent handler for the CDK Provider framework):
 * on Create and Update it creates the events database when missing (DB_NAME), brings its
 * schema up to date and applies the writer and reader roles; on Delete it leaves the data
 * alone. It is the only reader of the admin secret (DB_SECRET_ARN); the role secrets are
 * DB_WRITER_SECRET_ARN and DB_READER_SECRET_ARN. A failure throws, which the Provider
 * framework reports to CloudFormation.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { migrationSettings } from './lib/configuration';
import { prepareEventsDatabase } from './lib/events-database';
import { MIGRATIONS } from './lib/migrations';
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
  const { applied } = await prepareEventsDatabase(migrationSettings(process.env));
  const schemaVersion = MIGRATIONS[MIGRATIONS.length - 1].version;
  log('INFO', 'schema migrated', { requestType: event.RequestType, applied, schemaVersion });
  return { PhysicalResourceId: SCHEMA_RESOURCE_ID, Data: { SchemaVersion: schemaVersion, Applied: applied.join(',') } };
}
