export * from './events-database';
export * from './kx-events-pipeline';
