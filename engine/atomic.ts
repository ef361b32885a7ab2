import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a file so that readers see the old content or the new one, never a mix, and a killed process
 * leaves at most a stray `.tmp-*` file (never a truncated target): temp file + fsync + rename.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { fsync?: boolean } = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      // fsync guards against power loss; a killed process never leaves a torn file either way.
      if (opts.fsync !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
