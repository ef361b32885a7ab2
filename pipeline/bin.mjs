#!/usr/bin/env node
// Entry point of the `pipeline` command: runs the TypeScript CLI through tsx's loader, so it works right
// after `npm install` with no global tools and no build step.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
