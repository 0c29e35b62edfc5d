import { startWorker } from '../util/worker-script.js';
import { FaceIndex, FaceIndexError, type FaceIndexOptions, type FaceRecord } from './face-index.js';
import type { IndexBuildInput, IndexBuildReply } from './index-build-worker.js';

// The worker script next to this module: `.ts` under vitest/tsx, `.js` in dist.
const WORKER_SCRIPT = new URL(
  `./index-build-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
);

/**
 * Builds a FaceIndex on a worker thread: each addPoint blocks for about a millisecond at 1152-D, so
 * a large build on the main thread would stall HTTP and queue work for minutes. The embeddings go
 * over as one transferred Float32Array (not arrays of numbers), the index comes back as snapshot
 * bytes and is restored here. Invalid records reject with the FaceIndexError the index raises.
 */
export async function buildIndexInWorker(faces: readonly FaceRecord[], options: FaceIndexOptions): Promise<FaceIndex> {
  const input = pack(faces, options);
  const reply = await new Promise<IndexBuildReply>((resolve, reject) => {
    const worker = startWorker(WORKER_SCRIPT, {
      name: 'facepipe-index-build',
      workerData: input,
      transferList: [input.data.buffer as ArrayBuffer, input.offsets.buffer as ArrayBuffer],
    });
    let settled = false;
    let failure: Error | undefined;
    worker.once('message', (msg: IndexBuildReply) => {
      settled = true;
      resolve(msg);
    });
    worker.once('messageerror', (err) => (failure = err));
    worker.once('error', (err) => (failure = err)); // an 'exit' event always follows
    worker.once('exit', (code) => {
      if (settled) return;
      const reason = failure ? failure.message : `exit code ${code}`;
      reject(new Error(`index build worker stopped without a result (${reason})`));
    });
  });
  if (!reply.ok) {
    if (reply.error.name === 'FaceIndexError') throw new FaceIndexError(reply.error.message);
    throw new Error(`index build worker failed: ${reply.error.message}`);
  }
  const { index, maps } = reply.snapshot;
  return FaceIndex.restore(
    { index: Buffer.from(index.buffer, index.byteOffset, index.byteLength), maps },
    { ef: options.ef },
  );
}

/**
 * Copies the embeddings into one Float32Array owned here, so transferring it never detaches the
 * caller's arrays. Lengths are kept as given: the worker's FaceIndex reports a wrong dimension.
 */
function pack(faces: readonly FaceRecord[], options: FaceIndexOptions): IndexBuildInput {
  const offsets = new Uint32Array(faces.length + 1);
  for (let i = 0; i < faces.length; i++) {
    const embedding = faces[i]?.embedding;
    if (embedding == null || typeof embedding.length !== 'number') {
      throw new FaceIndexError(`face ${String(faces[i]?.faceId)}: embedding is missing`);
    }
    offsets[i + 1] = offsets[i] + embedding.length;
  }
  const data = new Float32Array(offsets[faces.length]);
  // Float32Array.set converts non-numbers to NaN, which the index rejects as not finite.
  for (let i = 0; i < faces.length; i++) data.set(faces[i].embedding, offsets[i]);
  return {
    options,
    faceIds: faces.map((face) => face.faceId),
    personIds: faces.map((face) => face.personId),
    offsets,
    data,
  };
}
