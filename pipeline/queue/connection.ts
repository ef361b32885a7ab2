import { createBunRedisClient, RedisConnection, type RedisOptions } from 'bullmq';
import { RespClient } from './resp-client.ts';
import { shownRedisUrl } from './settings.ts';

/** Redis could not be reached before anything ran: a configuration error (exit 2), one line. */
export class QueueConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

let installed = false;

/**
 * BullMQ's connection options for REDIS_URL. BullMQ creates (and closes) its own connections from them,
 * through the client factory installed here (see resp-client.ts for why it is not ioredis).
 */
export function bullConnection(redisUrl: string): RedisOptions {
  if (!installed) {
    installed = true;
    RedisConnection.clientFactory = (opts) =>
      createBunRedisClient(new RespClient(String(opts.url)), { lazyConnect: !!opts.lazyConnect });
  }
  return { url: redisUrl };
}

/** A plain connection of our own (heartbeats, pub/sub), connected, or a QueueConnectError after `timeoutMs`. */
export async function connectRedis(redisUrl: string, timeoutMs = 3000): Promise<RespClient> {
  const client = new RespClient(redisUrl);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.send('PING')),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return client;
  } catch (err) {
    client.close();
    throw new QueueConnectError(
      `Redis at ${shownRedisUrl(redisUrl)} is unreachable (${(err as Error).message || String(err)}): ` +
        'start it or fix REDIS_URL; nothing was run',
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Keeps one of our own connections up: after an unexpected close it reconnects every 500 ms (Redis
 * restarted, a failover) and then calls `onReconnect` (e.g. to SUBSCRIBE again). BullMQ's own
 * connections reconnect by themselves.
 */
export function keepConnected(client: RespClient, onReconnect?: () => Promise<unknown>): void {
  let stopped = false;
  const close = client.close.bind(client);
  client.close = () => {
    stopped = true;
    close();
  };
  client.onclose = () => {
    const retry = (): void => {
      if (stopped) return;
      client.connect().then(
        () => void onReconnect?.().catch(() => undefined),
        () => setTimeout(retry, 500).unref(),
      );
    };
    setTimeout(retry, 500).unref();
  };
}
