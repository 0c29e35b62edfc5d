/**
 * Worker side of WorkerPool: run once as the body of a worker script.
 *
 * Protocol (all messages are structured-cloned):
 *   worker -> main  { ready: true } | { ready: false, error }   once, after init
 *   main -> worker  { id, method, payload }                      one task at a time
 *   worker -> main  { id, ok: true, result } | { id, ok: false, error: { name, code?, message } }
 */
import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';

/** Each handler takes the payload its callers send (`never`: any payload type fits). */
export type Handlers = Record<string, (payload: never) => Promise<unknown> | unknown>;

export interface TaskRequest {
  id: number;
  method: string;
  payload: unknown;
}

export interface SerializedError {
  name: string;
  code?: string;
  message: string;
}

export type TaskResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: SerializedError };

export type ReadyMessage = { ready: true } | { ready: false; error: SerializedError };

/** A handler result whose buffers are moved to the main thread instead of copied (embeddings, crops). */
export class WithTransfer<T = unknown> {
  constructor(
    readonly result: T,
    readonly transfer: TransferListItem[],
  ) {}
}

/**
 * Return `withTransfer(result, [typedArray, ...])` from a handler to move those buffers.
 * Typed arrays/DataViews are replaced by their ArrayBuffer; SharedArrayBuffers (shared anyway)
 * are skipped; duplicates are dropped because postMessage refuses them.
 */
export function withTransfer<T>(result: T, transfer: Array<TransferListItem | ArrayBufferView>): WithTransfer<T> {
  const list = new Set<TransferListItem>();
  for (const item of transfer) {
    const t = ArrayBuffer.isView(item) ? item.buffer : item;
    if (typeof SharedArrayBuffer !== 'undefined' && t instanceof SharedArrayBuffer) continue;
    list.add(t as TransferListItem);
  }
  return new WithTransfer(result, [...list]);
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}

export function serveTasks(init: (workerData: unknown) => Promise<Handlers>): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks() must be called inside a worker thread');

  const post = (msg: TaskResponse, transfer?: TransferListItem[]) => {
    try {
      port.postMessage(msg, transfer);
    } catch (err) {
      // e.g. a result that cannot be cloned: still answer, or the main side would wait forever.
      port.postMessage({ id: msg.id, ok: false, error: serializeError(err) } satisfies TaskResponse);
    }
  };

  init(workerData).then(
    (handlers) => {
      port.on('message', async ({ id, method, payload }: TaskRequest) => {
        try {
          const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
          if (!handler) throw new Error(`unknown worker method "${method}"`);
          const out = await handler(payload as never);
          if (out instanceof WithTransfer) post({ id, ok: true, result: out.result }, out.transfer);
          else post({ id, ok: true, result: out });
        } catch (err) {
          post({ id, ok: false, error: serializeError(err) });
        }
      });
      port.postMessage({ ready: true } satisfies ReadyMessage);
    },
    // No message listener is installed, so the worker then exits by itself.
    (err) => port.postMessage({ ready: false, error: serializeError(err) } satisfies ReadyMessage),
  );
}
