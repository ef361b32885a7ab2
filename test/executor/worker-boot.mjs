// A worker runs plain JavaScript: register tsx's loader first, then run the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
