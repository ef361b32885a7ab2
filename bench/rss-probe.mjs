// Loaded with `node --import bench/rss-probe.mjs …` by bench/e2e.ts: when the process exits, writes its
// peak RSS (process.resourceUsage().maxRSS, worker threads included) and CPU time to the file named by
// CITYFLOW_BENCH_PROBE, so the measured command (e.g. `pipeline materialize`) needs no change.
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const out = process.env.CITYFLOW_BENCH_PROBE;
if (out)
  process.on('exit', () => {
    const r = process.resourceUsage();
    writeFileSync(
      out,
      JSON.stringify({
        maxRssMB: Math.round(r.maxRSS / 1024),
        cpuMs: Math.round((r.userCPUTime + r.systemCPUTime) / 1000),
      }),
    );
  });
