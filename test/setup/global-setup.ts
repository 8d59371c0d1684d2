/**
 * Starts the test bed once per Jest run: a real PostgreSQL 16 and moto (SQS and
 * Secrets Manager). Workers inherit DATABASE_URL and AWS_ENDPOINT_URL. A server
 * named by DATABASE_URL or AWS_ENDPOINT_URL is used instead of starting one.
 */
import { useLocalAws } from '../../local/aws';
import { startMoto } from '../../local/moto';
import { startPostgres } from '../../local/postgres';
import { testBedStops } from './stand-ins';

export default async function globalSetup(): Promise<void> {
  const [postgres, moto] = await Promise.all([
    process.env.DATABASE_URL ? undefined : startPostgres(),
    process.env.AWS_ENDPOINT_URL ? undefined : startMoto(),
  ]);
  if (postgres) {
    process.env.DATABASE_URL = postgres.url;
    testBedStops.push(() => postgres.destroy());
  }
  if (moto) testBedStops.push(() => moto.stop());
  useLocalAws(moto?.endpoint ?? process.env.AWS_ENDPOINT_URL!);
}
