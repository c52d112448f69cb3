/** Worker thread that writes truth.jsonl from day batches (see truth-writer.ts). */
import { createWriteStream } from 'fs';
import { parentPort, workerData } from 'worker_threads';
import { ByteSink } from './byte-sink';
import { TruthBatch, TruthFormatter } from './truth-writer';

const data = workerData as { file: string; users: number; pinAdvertiser: Int32Array; pinCategory: Int32Array };
const sink = new ByteSink(createWriteStream(data.file, { highWaterMark: 8 << 20 }));
const formatter = new TruthFormatter(data);
const port = parentPort!;
// Batches are handled one after another, in arrival order.
let chain = Promise.resolve();

port.on('message', (m: { type: 'batch'; batch: TruthBatch } | { type: 'close' }) => {
  chain = chain
    .then(async () => {
      if (m.type === 'batch') {
        await formatter.write(sink, m.batch);
        port.postMessage({ type: 'written' });
      } else {
        await sink.end();
        port.postMessage({ type: 'closed' });
      }
    })
    .catch((e: Error) => port.postMessage({ type: 'error', message: e.message }));
});
