import { testBedStops } from './test-bed-stops';

export default async function globalTeardown(): Promise<void> {
  await Promise.all(testBedStops.splice(0).map((stop) => stop()));
}
