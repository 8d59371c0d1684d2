/**
 * The stand-ins for AWS and RDS: PostgreSQL 16 and moto, each started here unless a
 * server of one's own is named (DATABASE_URL, AWS_ENDPOINT_URL). The test bed, the
 * local pipeline (demo, end-to-end tests, benchmarks) all start them here.
 */
import { useLocalAws } from './aws';
import { startMoto } from './moto';
import { startPostgres } from './postgres';

export interface StandInsOptions {
  /** @default - DATABASE_URL, else a new embedded PostgreSQL 16 */
  readonly databaseUrl?: string;
  /** @default - AWS_ENDPOINT_URL, else a new moto server */
  readonly awsEndpoint?: string;
  /** Told what is being started, if anything. */
  readonly progress?: (step: string) => void;
}

export interface StandIns {
  /** A superuser connection string. */
  readonly databaseUrl: string;
  /** The AWS endpoint; the process's AWS SDK clients now point at it, with fake credentials. */
  readonly awsEndpoint: string;
  /** Stops what was started here (a server that was named is left alone). */
  stop(): Promise<void>;
}

export async function startStandIns(options: StandInsOptions = {}): Promise<StandIns> {
  const givenDatabase = options.databaseUrl ?? process.env.DATABASE_URL;
  const givenEndpoint = options.awsEndpoint ?? process.env.AWS_ENDPOINT_URL;
  const starting = [givenDatabase ? [] : 'PostgreSQL 16', givenEndpoint ? [] : 'moto (SQS, Secrets Manager)'].flat();
  if (starting.length) options.progress?.(`starting ${starting.join(' and ')}`);
  const [postgres, moto] = await Promise.allSettled([
    givenDatabase ? undefined : startPostgres(),
    givenEndpoint ? undefined : startMoto(),
  ]);
  const stop = async () => {
    await Promise.all([
      postgres.status === 'fulfilled' ? postgres.value?.destroy() : undefined,
      moto.status === 'fulfilled' ? moto.value?.stop() : undefined,
    ]);
  };
  if (postgres.status === 'rejected' || moto.status === 'rejected') {
    await stop();
    throw postgres.status === 'rejected' ? postgres.reason : (moto as PromiseRejectedResult).reason;
  }
  const awsEndpoint = givenEndpoint ?? moto.value!.endpoint;
  useLocalAws(awsEndpoint);
  return { databaseUrl: givenDatabase ?? postgres.value!.url, awsEndpoint, stop };
}
