/**
 * Follows a run log (`<STATE_DIR>/runs/<id>.jsonl`) as it grows, for server-sent events: every complete
 * line once, in order, whichever process writes it (a UI run or a CLI run). Polls the file's size (cheap;
 * works on every file system), stops at `run_finished` or when told.
 */
import { open } from 'node:fs/promises';

export interface Tail {
  stop(): void;
}

export function tailRunLog(
  path: string,
  onLine: (line: string) => void,
  onEnd: () => void,
  opts: { intervalMs?: number; stillExpected?: () => boolean } = {},
): Tail {
  let offset = 0;
  let partial = '';
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const interval = opts.intervalMs ?? 200;

  const poll = async (): Promise<void> => {
    let finished = false;
    try {
      const fh = await open(path, 'r');
      try {
        const { size } = await fh.stat();
        if (size > offset) {
          const buf = Buffer.alloc(size - offset);
          await fh.read(buf, 0, buf.length, offset);
          offset = size;
          const lines = (partial + buf.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            if (!line.trim()) continue;
            onLine(line);
            if (line.includes('"type":"run_finished"')) finished = true;
          }
        }
      } finally {
        await fh.close();
      }
    } catch (err) {
      // Not written yet (a UI run waiting for the lock): wait while it is expected, else end.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (opts.stillExpected && !opts.stillExpected()) finished = true;
    }
    if (finished) {
      stopped = true;
      onEnd();
      return;
    }
    if (!stopped) timer = setTimeout(() => void poll().catch(() => onEnd()), interval);
  };
  void poll().catch(() => onEnd());
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
