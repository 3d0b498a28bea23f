/**
 * The body of a record-indexing worker thread (started by `index-pool.ts`): it reads whole tabular
 * files and writes their record indexes ({@link indexTabularFile}), one request at a time, and
 * answers each with the index's figures or the error it threw.
 *
 * Unlike the hashing workers (self-contained source strings), this one needs the readers (csv-parse,
 * hyparquet) and the index builder, so it is a module of its own: `dist/records/index-worker.js`
 * for the library, and an ES-module bundle of its own for the CLI (`dist/cli/chunks/index-worker.js`, see
 * scripts/bundle-cli.mjs). Loaded on the main thread it does nothing.
 */
import { parentPort } from 'node:worker_threads';
import { isSnapError } from '../core/errors.js';
import { indexTabularFile } from './index-file.js';
import { toWire, type IndexReply, type IndexRequest, type WireError } from './index-wire.js';

async function answer(req: IndexRequest): Promise<IndexReply> {
  try {
    const { built } = await indexTabularFile(req.options);
    return { id: req.id, built: toWire(built) };
  } catch (e) {
    if (isSnapError(e)) return { id: req.id, error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } };
    return { id: req.id, error: { code: 'INTERNAL', message: `record indexing failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` } };
  }
}

if (parentPort) {
  const port = parentPort;
  // One request at a time, in order (the pool sends the next only after this one's reply, but a
  // queue keeps one file's memory per worker whatever it is sent).
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (req: IndexRequest) => {
    chain = chain.then(async () => {
      const reply = await answer(req);
      try {
        port.postMessage(reply);
      } catch {
        // Details that cannot be cloned: the code and message still go.
        const r = reply as { id: number; error: WireError };
        port.postMessage({ id: r.id, error: { code: r.error.code, message: r.error.message } });
      }
    });
  });
}
