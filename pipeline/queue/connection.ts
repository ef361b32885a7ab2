import { createIORedisClient, RedisConnection, type RedisOptions } from 'bullmq';
import { Redis, type RedisOptions as IORedisOptions } from 'ioredis';
import { shownRedisUrl } from './settings.ts';

/** Redis could not be reached before anything ran: a configuration error (exit 2), one line. */
export class QueueConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

let installed = false;
/** The ioredis clients BullMQ made here, until they end. */
const bullClients = new Set<Redis>();

/**
 * BullMQ's connection options for REDIS_URL. BullMQ creates (and closes) its own ioredis connections
 * from them. Its ESM build cannot `require('ioredis')` by itself, so the factory here builds them, the
 * way BullMQ's own CommonJS path does (`new IORedis(url, rest)`).
 */
export function bullConnection(redisUrl: string): RedisOptions {
  if (!installed) {
    installed = true;
    RedisConnection.clientFactory = (opts) => {
      const { url, ...rest } = opts;
      const options = rest as IORedisOptions;
      const raw = url ? new Redis(url, options) : new Redis(options);
      bullClients.add(raw);
      raw.once('end', () => bullClients.delete(raw));
      return createIORedisClient(raw);
    };
  }
  return { url: redisUrl };
}

/**
 * A connection of our own (heartbeats, cancel messages, checks), connected, or a QueueConnectError after
 * `timeoutMs`. ioredis reconnects it (every 250 ms) and re-subscribes its channels by itself; commands
 * sent while it is down fail at once instead of waiting.
 */
export async function connectRedis(redisUrl: string, timeoutMs = 3000): Promise<Redis> {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => 250,
  });
  let lastError = '';
  client.on('error', (err: Error) => (lastError = err.message)); // else ioredis prints it with a stack
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(lastError || `no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
    return client;
  } catch (err) {
    client.disconnect();
    // The connection's own error says why (refused, a certificate not trusted...), where the rejected
    // promise often says only "Connection is closed."
    const why = lastError || (err as Error).message || String(err);
    const fix = /certificate/i.test(why)
      ? 'trust its CA (NODE_EXTRA_CA_CERTS=<CA file>) or fix REDIS_URL'
      : 'start it or fix REDIS_URL';
    throw new QueueConnectError(
      `Redis at ${shownRedisUrl(redisUrl)} is unreachable (${why}): ${fix}; nothing was run`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Ends every connection BullMQ made in this process at once, without waiting for Redis: when Redis is
 * lost, BullMQ's own `close()`/`disconnect()` wait for a connection that never comes back, and its
 * clients would keep the process alive reconnecting.
 */
export function dropBullConnections(): void {
  for (const c of bullClients) c.disconnect();
  bullClients.clear();
}
