import { describe, expect, it } from 'vitest';
import { isTransient, TransientError } from './asset.ts';

describe('transient errors', () => {
  it('are recognised through wrapped causes', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(isTransient(new Error('DynamoDB put failed', { cause: reset }))).toBe(true);
    expect(
      isTransient(new Error('outer', { cause: new Error('mid', { cause: new TransientError('x') }) })),
    ).toBe(true);
    expect(isTransient(new Error('bad input', { cause: new Error('schema') }))).toBe(false);
  });
});
