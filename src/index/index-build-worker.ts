/**
 * Worker script of buildIndexInWorker(): builds one FaceIndex from workerData, posts its snapshot
 * back (the index bytes transferred, not copied) and exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  DEFAULT_INITIAL_CAPACITY,
  FaceIndex,
  type FaceIndexOptions,
  type FaceIndexSnapshot,
  type FaceRecord,
} from './face-index.js';

/** The faces, packed: record i's embedding is data[offsets[i] .. offsets[i + 1]). */
export interface IndexBuildInput {
  options: FaceIndexOptions;
  faceIds: string[];
  personIds: string[];
  /** faces + 1 entries. */
  offsets: Uint32Array;
  data: Float32Array;
}

export type IndexBuildReply =
  | { ok: true; snapshot: { index: Uint8Array; maps: FaceIndexSnapshot['maps'] } }
  | { ok: false; error: { name: string; message: string } };

function build({ options, faceIds, personIds, offsets, data }: IndexBuildInput): FaceIndexSnapshot {
  const faces: FaceRecord[] = faceIds.map((faceId, i) => ({
    faceId,
    personId: personIds[i],
    embedding: data.subarray(offsets[i], offsets[i + 1]),
  }));
  // Reserve every slot up front: growing by doubling copies the whole index each time.
  const initialCapacity = Math.max(options.initialCapacity ?? DEFAULT_INITIAL_CAPACITY, faces.length);
  const index = new FaceIndex({ ...options, initialCapacity });
  index.add(faces);
  return index.serialize();
}

const port = parentPort;
if (port) {
  let reply: IndexBuildReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const { index, maps } = build(workerData as IndexBuildInput);
    // A Buffer may be a view into a shared pool: transfer only a buffer it owns whole.
    const owned =
      index.byteOffset === 0 && index.byteLength === index.buffer.byteLength ? index : new Uint8Array(index);
    reply = { ok: true, snapshot: { index: owned, maps } };
    transfer = [owned.buffer as ArrayBuffer];
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { ok: false, error: { name: e.name, message: e.message } };
  }
  port.postMessage(reply, transfer);
}
