/** What global setup started, for global teardown to stop (both run in Jest's parent process). */
export const testBedStops: Array<() => Promise<void>> = ((globalThis as any).__kxEventsTestBedStops ??= []);
