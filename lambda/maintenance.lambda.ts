/**
 * The maintenance Lambda, run on a schedule: makes the events table's partitions ahead
 * and drops those past retention (lambda/lib/partitions.ts). It reads the migration's
 * settings (DB_SECRET_ARN, the admin secret, and DB_SSL_MODE) and RETENTION_DAYS (unset:
 * events are kept forever). A failure throws, so the function's Errors metric counts
 * it; each run logs how many days ahead the partitions cover, as the metric
 * PartitionDaysAhead (embedded metric format), which alarms below 1.
 */
import { maintenanceSettings } from './lib/configuration';
import { DatabaseConnection } from './lib/database';
import { maintainPartitions, type MaintenanceResult } from './lib/partitions';
import { logPartitions } from './lib/telemetry';

const settings = maintenanceSettings(process.env);
// Dropping a partition turns the links into it into claims first: that may take minutes.
const database = new DatabaseConnection(settings, { applicationName: 'kx-events-maintenance', statementTimeoutMs: 600_000 });

export async function handler(): Promise<MaintenanceResult> {
  const result = await database.use((client) => maintainPartitions(client, { retentionDays: settings.retentionDays }));
  logPartitions(result);
  return result;
}
