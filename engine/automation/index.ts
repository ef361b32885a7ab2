export * from './declarations.ts';
export * from './cron.ts';
export * from './sensor.ts';
export * from './store.ts';
export * from './evaluate.ts';
