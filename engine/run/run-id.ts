import { randomBytes } from 'node:crypto';

// Millisecond resolution: several runs a second are common (a no-op run takes ~0.3 s).
export const newRunId = (): string =>
  new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d+)Z$/, '$1Z') +
  '-' +
  randomBytes(3).toString('hex');
