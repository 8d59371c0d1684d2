import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { AuroraServerlessV2Options } from '../events-database';

/** What an EventsDatabase stands for: one of the three shapes (a new database, of two kinds, or an existing one). */
export type DatabaseShape =
  | { readonly kind: 'instance' }
  | { readonly kind: 'auroraServerlessV2'; readonly options: AuroraServerlessV2Options }
  | { readonly kind: 'existingInstance'; readonly database: rds.IDatabaseInstance; readonly adminSecret?: secretsmanager.ISecret }
  | { readonly kind: 'existingCluster'; readonly database: rds.IDatabaseCluster; readonly adminSecret?: secretsmanager.ISecret };

/** How the user wrote the shape, for error messages. */
export const SHAPE_NAMES: Record<DatabaseShape['kind'], string> = {
  instance: 'EventsDatabase.instance()',
  auroraServerlessV2: 'EventsDatabase.auroraServerlessV2()',
  existingInstance: 'EventsDatabase.fromInstance()',
  existingCluster: 'EventsDatabase.fromCluster()',
};

/** Whether the pipeline creates the database (and so owns its settings, its admin secret and its rotation). */
export function isNewDatabase(shape: DatabaseShape): shape is Extract<DatabaseShape, { kind: 'instance' | 'auroraServerlessV2' }> {
  return shape.kind === 'instance' || shape.kind === 'auroraServerlessV2';
}
