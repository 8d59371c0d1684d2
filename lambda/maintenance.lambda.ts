/**
 * The maintenance Lambda, run on a schedule: makes the events table's partitions ahead
 * and drops those past retention (lambda/lib/partitions.ts). It reads the migration's
 * settings (DB_SECRET_ARN, the admin secret, DB_NAME and DB_SSL_MODE) and RETENTION_DAYS (unset:
 * events are kept forever). A failure throws, so the function's Errors metric counts
 * it; each run logs how many days ahead the partitions cover, as the metric
 * PartitionDaysAhead (embedded metric format), which alarms below 1.
 */
import { maintenanceSettings } from './lib/configuration';
import { DatabaseConnection } from './lib/database';
import { maintainPartitions, type MaintenanceResult } from './lib/partitions';
import { logPartitions } from './lib/telemetry';

const settings = maintenanceSettings(process.env);

export async function handler(): Promise<MaintenanceResult> {
  // A connection a run, closed after it: the next run is an hour away. Dropping a partition
  // turns the links into it into claims first: a statement may take minutes.
  const database = new DatabaseConnection(settings, { startupSettings: { applicationName: 'kx-events-maintenance' }, statementTimeoutMs: 600_000 });
  try {
    const result = await database.use((client) => maintainPartitions(client, { retentionDays: settings.retentionDays }));
    logPartitions(result);
    return result;
  } finally {
    await database.end();
  }
}
