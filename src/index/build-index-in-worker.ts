import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/worker-script.js';
import { FaceIndex, FaceIndexError, type FaceIndexOptions, type FaceRecord, shardsFor } from './face-index.js';
import type { IndexBuildInput, IndexBuildReply } from './index-build-worker.js';

// The worker script next to this module: `.ts` under vitest/tsx, `.js` in dist.
const WORKER_SCRIPT = new URL(
  `./index-build-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
);

/**
 * Builds a FaceIndex on worker threads: each addPoint blocks for about a millisecond at 1152-D, so
 * a large build on the main thread would stall HTTP and queue work for minutes. A large build is
 * split into shards (options.shards, default shardsFor(faces, cores)), one worker thread per shard
 * so that every core builds; the shards come back as snapshot bytes and are joined into one
 * FaceIndex here. The embeddings go over as one transferred Float32Array per worker (not arrays of
 * numbers). Invalid records reject with the FaceIndexError the index raises.
 */
export async function buildIndexInWorker(faces: readonly FaceRecord[], options: FaceIndexOptions): Promise<FaceIndex> {
  const shards = options.shards ?? shardsFor(faces.length, availableParallelism());
  if (!Number.isInteger(shards) || shards < 1)
    throw new FaceIndexError(`shards must be a positive integer, got ${shards}`);
  if (shards === 1) {
    const [snapshot] = await runAll([pack(faces, { ...options, shards: 1 })]);
    return FaceIndex.restore(snapshot, { ef: options.ef });
  }
  // A faceId given twice counts once, as its last record (what add() would leave): each shard
  // worker only sees its own part, so duplicates across parts are dropped here.
  const last = new Map<string, number>();
  for (const [i, face] of faces.entries()) last.set(face?.faceId, i);
  const unique = last.size === faces.length ? faces : faces.filter((face, i) => last.get(face?.faceId) === i);
  // Contiguous parts (gallery order keeps a person's faces together) with disjoint label ranges.
  const inputs: IndexBuildInput[] = [];
  for (let s = 0, start = 0; s < shards; s++) {
    const end = Math.round(((s + 1) * unique.length) / shards);
    const part = unique.slice(start, end);
    inputs.push(pack(part, { ...options, shards: 1, firstLabel: start, initialCapacity: Math.max(1, part.length) }));
    start = end;
  }
  return FaceIndex.combine(await runAll(inputs), { ef: options.ef });
}

/** Runs one build worker per input; the first failure stops the others. */
async function runAll(inputs: IndexBuildInput[]): Promise<Array<Parameters<typeof FaceIndex.restore>[0]>> {
  const workers: Worker[] = [];
  try {
    const replies = await Promise.all(
      inputs.map(
        (input) =>
          new Promise<IndexBuildReply>((resolve, reject) => {
            const worker = startWorker(WORKER_SCRIPT, {
              name: 'facepipe-index-build',
              workerData: input,
              transferList: [input.data.buffer as ArrayBuffer, input.offsets.buffer as ArrayBuffer],
            });
            workers.push(worker);
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
          }),
      ),
    );
    return replies.map((reply) => {
      if (!reply.ok) {
        if (reply.error.name === 'FaceIndexError') throw new FaceIndexError(reply.error.message);
        throw new Error(`index build worker failed: ${reply.error.message}`);
      }
      const { index, maps } = reply.snapshot;
      return { index: Buffer.from(index.buffer, index.byteOffset, index.byteLength), maps };
    });
  } finally {
    // Workers still running after a failure are stopped (a finished one has exited already).
    for (const worker of workers) void worker.terminate();
  }
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
