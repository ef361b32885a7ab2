import { parentPort, workerData } from 'node:worker_threads';
import { runUnit, type Definitions, type UnitError } from '../../engine/index.ts';
import type { FromWorker, ToWorker, WorkerData } from './protocol.ts';

/** One thread of WorkerExecutor: loads the definitions itself, then runs the jobs it is sent, one at a time. */
const { definitions, config } = workerData as WorkerData;
const mod = (await import(definitions)) as {
  default: Definitions | ((config: unknown) => Definitions | Promise<Definitions>);
};
const defs = typeof mod.default === 'function' ? await mod.default(config) : mod.default;

const port = parentPort!;
const send = (m: FromWorker): void => port.postMessage(m);
const acks = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
let seq = 0;
let controller = new AbortController();

/** A recording error from the main thread, as the unit runner sees errors (retried when transient). */
const asError = (e: UnitError): Error =>
  Object.assign(new Error(e.message), { transient: e.transient, ...(e.abort ? { name: 'AbortError' } : {}) });

port.on('message', (m: ToWorker) => {
  if (m.type === 'abort') controller.abort();
  else if (m.type === 'ack') {
    const a = acks.get(m.seq)!;
    acks.delete(m.seq);
    if (m.error) a.reject(asError(m.error));
    else a.resolve();
  } else {
    controller = new AbortController();
    void runUnit(defs, m.job, {
      signal: controller.signal,
      event: (event) => send({ type: 'event', event }),
      report: (report) =>
        new Promise((resolve, reject) => {
          acks.set(++seq, { resolve, reject });
          send({ type: 'report', seq, report });
        }),
    }).then((result) => send({ type: 'done', result }));
  }
});
