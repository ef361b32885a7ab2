/**
 * The minimal Redis client BullMQ runs on here (pipeline/queue/resp-client.ts), against a real
 * redis-server with a password: replies of every RESP2 type, big values split over many TCP chunks,
 * pipelined commands answered in order, errors as rejections, AUTH, and a closed connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RespClient } from '../../pipeline/queue/resp-client.ts';
import { startRedis, type RunningRedis } from '../servers/redis.ts';

let redis: RunningRedis;
beforeAll(async () => {
  redis = await startRedis({ password: 'pw/with@odd:chars' });
});
afterAll(() => redis?.stop());

describe('RespClient', () => {
  it('speaks RESP2: strings, integers, nil, arrays, errors; big values; pipelining in order', async () => {
    const c = new RespClient(redis.url);
    await c.connect();
    try {
      expect(await c.send('PING')).toBe('PONG');
      expect(await c.send('SET', ['k', 'v'])).toBe('OK');
      expect(await c.get('k')).toBe('v');
      expect(await c.get('missing')).toBeNull();
      expect(await c.incr('n')).toBe(1);
      await c.send('SADD', ['s', 'a', 'b']);
      expect((await c.smembers('s')).sort()).toEqual(['a', 'b']);
      await expect(c.send('INCR', ['k'])).rejects.toThrow(/not an integer/);
      // 3 MB of multi-byte text: arrives in many chunks, comes back intact.
      const big = 'é€'.repeat(600_000);
      await c.send('SET', ['big', big]);
      expect(await c.get('big')).toBe(big);
      // Nested arrays (a stream read), and a Buffer argument.
      await c.send('XADD', ['st', '*', 'f', Buffer.from('v1')]);
      const read = (await c.send('XRANGE', ['st', '-', '+'])) as [string, string[]][];
      expect(read[0]![1]).toEqual(['f', 'v1']);
      // 500 commands written before any reply: answered in order.
      const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => c.send('ECHO', [`m${i}`])));
      expect(replies).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
    } finally {
      c.close();
    }
  });

  it('authenticates from the URL (a wrong password is an error), and rejects commands once closed', async () => {
    const wrong = new RespClient(redis.url.replace(/:[^:@]+@/, ':nope@'));
    await expect(wrong.connect()).rejects.toThrow(/WRONGPASS|invalid password/i);
    const c = new RespClient(redis.url);
    await c.connect();
    let closed = false;
    c.onclose = () => (closed = true);
    c.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(true);
    expect(c.connected).toBe(false);
    await expect(c.send('PING')).rejects.toThrow('Connection closed');
  });
});
