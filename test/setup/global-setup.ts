/**
 * Starts the test bed once per Jest run: a real PostgreSQL 16 and moto (SQS and
 * Secrets Manager), unless DATABASE_URL or AWS_ENDPOINT_URL name servers of one's
 * own. Workers inherit DATABASE_URL, AWS_ENDPOINT_URL and the fake credentials.
 */
import { testBedStops } from './test-bed-stops';
import { startStandIns } from '../../local/stand-ins';

export default async function globalSetup(): Promise<void> {
  const standIns = await startStandIns();
  testBedStops.push(() => standIns.stop());
  process.env.DATABASE_URL = standIns.databaseUrl;
}
