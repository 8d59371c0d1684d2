export * from './kx-events-pipeline';
