export * from './events-database';
export * from './kx-events-pipeline';
export * from './event-fan-out';
