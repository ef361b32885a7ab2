/**
 * End to end: objects whose keys would escape the cache directory really exist in the bucket, under
 * the raw prefix, next to a good object. `S3SourceIO.resolve` must refuse the folder (UnsafeKeyError,
 * no fallback) without writing anything anywhere: the cache sits three levels deep in a sandbox
 * folder and the whole sandbox is compared before and after. (The refusal rules themselves are unit
 * tested in test/s3/cache.test.ts.)
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSourceIO } from '../../io-managers/local-source.ts';
import { UnsafeKeyError } from '../../io-managers/s3/cache.ts';
import { listKeys } from '../../io-managers/s3/objects.ts';
import { S3SourceIO } from '../../io-managers/s3/s3-source.ts';
import { countCommands, freshBucket, put, s3SkipReason, testClient } from '../s3/helpers.ts';

const skip = s3SkipReason();

/** Relative path of every file and folder under `dir`. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(dir, p) + (e.isDirectory() ? '/' : ''));
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

// Under `raw/evil-<i>/`: each would land outside `<cache>/objects/<bucket>/` if joined naively.
const MALICIOUS = [
  '../../../../owned-dotdot.json', // parent segments
  '..%2f..%2f..%2fowned-encoded-slash.json', // URL-encoded slash (decoded by a naive consumer)
  '%2e%2e/%2e%2e/%2e%2e/owned-encoded-dots.json', // URL-encoded dots
  '..%5c..%5cowned-encoded-backslash.json', // URL-encoded backslash
  '..\\..\\..\\owned-backslash.json', // Windows separators
  '/tmp/owned-absolute.json', // absolute path after the prefix ("raw/evil-5//tmp/…")
  'a/%00/owned-nul.json', // encoded NUL
];

describe.skipIf(skip !== '')(`escaping S3 keys in a real bucket${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let bucket: string;
  let sandbox: string;
  let cacheDir: string;
  const stored: { folder: string; key: string }[] = [];

  beforeAll(async () => {
    client = testClient();
    bucket = await freshBucket(client, 'evil');
    for (const [i, bad] of MALICIOUS.entries()) {
      const folder = `evil-${i}`;
      await put(client, bucket, `raw/${folder}/good.json`, '{"ok":true}');
      await put(client, bucket, `raw/${folder}/${bad}`, '{"owned":true}');
    }
    // What the gateway really holds (a server could normalise a key on the way in).
    const keys = await listKeys(client, bucket, 'raw/');
    for (const [i, bad] of MALICIOUS.entries()) {
      const key = `raw/evil-${i}/${bad}`;
      if (keys.includes(key)) stored.push({ folder: `evil-${i}`, key });
    }
    // A drive letter only means something at the start of a key: with an empty raw prefix.
    await put(client, bucket, 'C:/owned-drive.json', '{"owned":true}');
    sandbox = await mkdtemp(path.join(tmpdir(), 'cityflow-evil-'));
    cacheDir = path.join(sandbox, 'a', 'b', 'cache');
    await mkdir(path.join(sandbox, 'local'), { recursive: true });
  });
  afterAll(async () => {
    client?.destroy();
    if (sandbox) await rm(sandbox, { recursive: true, force: true });
  });

  it('every malicious key stored verbatim is refused by resolve, with no download, no fallback and no file written', async () => {
    console.log(
      `[escaping keys] stored verbatim by the gateway: ${stored.length} of ${MALICIOUS.length}` +
        (stored.length < MALICIOUS.length
          ? ` (not stored as sent: ${MALICIOUS.filter((_, i) => !stored.some((s) => s.folder === `evil-${i}`)).join(' ')})`
          : ''),
    );
    expect(stored.length).toBeGreaterThanOrEqual(5);
    const before = await tree(sandbox);
    const counter = countCommands(client);
    const warnings: string[] = [];
    const source = new S3SourceIO({
      client,
      bucket,
      prefix: 'raw',
      cacheDir,
      fallback: new LocalSourceIO({ dataDir: path.join(sandbox, 'local') }),
      warn: (m) => warnings.push(m),
    });
    for (const s of stored) {
      const err = await source.resolve({ prefix: s.folder, recursive: true }).catch((e: unknown) => e);
      expect(err, s.key).toBeInstanceOf(UnsafeKeyError);
      expect((err as UnsafeKeyError).key).toBe(s.key);
    }
    const atRoot = new S3SourceIO({ client, bucket, prefix: '', cacheDir });
    const drive = await atRoot.resolve({ prefix: 'C:' }).catch((e: unknown) => e);
    expect(drive).toBeInstanceOf(UnsafeKeyError);
    expect((drive as Error).message).toContain('starts with a drive letter');
    expect(counter.counts.GetObjectCommand).toBeUndefined(); // not even the good.json next to them
    expect(counter.counts.ListObjectsV2Command).toBe(stored.length + 1);
    expect(warnings).toEqual([]);
    expect(source.fallbackReason).toBeUndefined();
    // Nothing written anywhere in the sandbox (not even the cache folders).
    expect(await tree(sandbox)).toEqual(before);
  });
});
