/**
 * The events table's lifecycle: a partition a day (UTC), made ahead, and dropped once
 * all of its events are past retention, after the links into it became claims. The
 * work is the schema's own functions (lambda/schema/0005_partitions.sql), so the
 * maintenance function, the local pipeline and the tests run the same code.
 */
import type { ClientBase } from 'pg';
import { healClaims } from './events-table';

/** How many days ahead of today a partition is made. */
export const PARTITION_DAYS_AHEAD = 7;

export interface MaintenanceOptions {
  /** Partitions whose events all occurred more than this many days ago are dropped. @default - none is dropped */
  readonly retentionDays?: number;
  /** The time the maintenance runs at. @default - now */
  readonly at?: Date;
}

export interface MaintenanceResult {
  /** How many partitions it made. */
  readonly created: number;
  /** The partitions it dropped, oldest first. */
  readonly dropped: string[];
  /** How many claims it linked: claims whose event is stored (two consumers that stored both at once may each miss the other). */
  readonly healed: number;
  /** How many whole days after today's partitions cover: below 1, tomorrow's events would have none. */
  readonly daysAhead: number;
}

/**
 * Makes the partitions ahead and drops those past retention, in one transaction; then
 * links the claims whose event is stored.
 * Idempotent, and safe when several run at once: the schema's functions queue on one
 * advisory lock, and each finds what the one before it did.
 */
export async function maintainPartitions(client: ClientBase, options: MaintenanceOptions = {}): Promise<MaintenanceResult> {
  const at = options.at ?? new Date();
  await client.query('BEGIN');
  try {
    const { rows: [{ created }] } = await client.query<{ created: number }>(
      'SELECT events_create_partitions($1, $2) AS created', [PARTITION_DAYS_AHEAD, at]);
    const dropped = options.retentionDays === undefined ? [] : (await client.query<{ name: string }>(
      'SELECT events_drop_partitions(make_interval(days => $1), $2) AS name', [options.retentionDays, at])).rows.map((row) => row.name);
    // A dropped row's claim goes with it: a DROP fires no trigger of event_claims (0006_event_claims.sql).
    if (dropped.length > 0) {
      await client.query(`DELETE FROM event_claims k
        WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = k.event_id AND e.occurred_at = k.occurred_at)`);
    }
    const { rows: [{ days_ahead: daysAhead }] } = await client.query<{ days_ahead: number }>(
      `SELECT coalesce(floor(extract(epoch FROM max(upper_bound) - date_trunc('day', $1::timestamptz, 'UTC')) / 86400) - 1, 0)::int AS days_ahead
       FROM events_partitions()`, [at]);
    await client.query('COMMIT');
    // Every claimant, for healClaims to link those whose claimed event is stored: after the drop,
    // so a claim into a dropped day stays a claim.
    const { rows: [{ claimants }] } = await client.query<{ claimants: string[] }>(
      "SELECT coalesce(array_agg(DISTINCT event_id), '{}') AS claimants FROM event_claims");
    const healed = claimants.length === 0 ? 0 : await healClaims(client, [], claimants);
    return { created, dropped, healed, daysAhead };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
