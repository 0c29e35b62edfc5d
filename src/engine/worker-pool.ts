/**
 * Fixed-size pool of worker threads running the same serveTasks() script (see worker-task-server.ts).
 * Inference is synchronous and slow, so it must never run on the main event loop;
 * each worker runs at most one task at a time so a slow task only ever delays itself.
 */
import type { TransferListItem, Worker } from 'node:worker_threads';
import { startWorker } from '../util/worker-script.js';
import { FaceError, type FaceErrorCode } from '../errors/face-error.js';
import type { ReadyMessage, SerializedError, TaskRequest, TaskResponse } from './worker-task-server.js';

export interface WorkerPoolOptions {
  /** Worker script: a `.ts` URL is loaded through tsx (tests, dev), a `.js` one as is (dist). */
  script: URL;
  size: number;
  workerData?: unknown;
  /** Used in thread names and error messages. */
  name?: string;
}

interface Task {
  id: number;
  method: string;
  payload: unknown;
  transfer?: TransferListItem[];
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  urgent: boolean;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  task?: Task;
  /** Last 'error' event, reported when the thread exits. */
  error?: Error;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly name: string;
  private nextId = 1;
  private startFailure?: Error;
  private closing?: Promise<void>;
  private terminating = false;
  private onDrained?: () => void;
  private readonly readyPromise: Promise<void>;
  private readyResolve!: () => void;
  private readyReject!: (err: Error) => void;

  constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1)
      throw new RangeError(`WorkerPool size must be a positive integer, got ${options.size}`);
    this.name = options.name ?? 'worker-pool';
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    // Callers may use run() without ever awaiting ready(); don't report that as an unhandled rejection.
    this.readyPromise.catch(() => {});
    for (let i = 0; i < options.size; i++) this.slots.push(this.spawn(i));
  }

  get size(): number {
    return this.options.size;
  }

  /** Tasks queued plus tasks running. */
  get pending(): number {
    return this.queue.length + this.slots.filter((s) => s.task).length;
  }

  /** Resolves once every initial worker has finished its init (model loading); rejects if one fails to start. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /**
   * Queues a task. `urgent` tasks go before every queued ordinary one: the engine marks the second
   * half of started work (embedding) urgent so finishing images never waits behind new ones.
   */
  run<R>(method: string, payload: unknown, transfer?: TransferListItem[], urgent = false): Promise<R> {
    if (this.closing) return Promise.reject(new Error(`${this.name} is closed`));
    if (this.startFailure) return Promise.reject(this.startFailure);
    return new Promise<R>((resolve, reject) => {
      const task: Task = {
        id: this.nextId++,
        method,
        payload,
        transfer,
        resolve: resolve as (value: unknown) => void,
        reject,
        urgent,
      };
      if (urgent) {
        const firstOrdinary = this.queue.findIndex((t) => !t.urgent);
        this.queue.splice(firstOrdinary === -1 ? this.queue.length : firstOrdinary, 0, task);
      } else {
        this.queue.push(task);
      }
      this.dispatch();
    });
  }

  /** Stops accepting tasks, lets queued and running ones finish, then terminates the threads. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.pending > 0) await new Promise<void>((resolve) => (this.onDrained = resolve));
      this.terminating = true;
      await Promise.all(this.slots.map((s) => s.worker.terminate()));
    })();
    return this.closing;
  }

  private spawn(index: number): Slot {
    const script = this.options.script;
    const options = { workerData: this.options.workerData, name: `${this.name}#${index}` };
    const worker = startWorker(script, options);
    const slot: Slot = { index, worker, ready: false };
    worker.on('message', (msg: ReadyMessage | TaskResponse) => this.onMessage(slot, msg));
    worker.on('error', (err) => (slot.error = err)); // an 'exit' event always follows
    worker.on('messageerror', (err) => this.onMessageError(slot, err));
    worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private onMessage(slot: Slot, msg: ReadyMessage | TaskResponse): void {
    if ('ready' in msg) {
      if (msg.ready) {
        slot.ready = true;
        if (this.slots.every((s) => s.ready)) this.readyResolve(); // no-op once settled
        this.dispatch();
      } else {
        this.failStart(reviveError(msg.error));
        void slot.worker.terminate();
      }
      return;
    }
    const task = slot.task;
    if (!task || task.id !== msg.id) return; // stale answer; cannot happen with one task per worker
    slot.task = undefined;
    if (msg.ok) task.resolve(msg.result);
    else task.reject(reviveError(msg.error));
    this.dispatch();
  }

  /** A reply that could not be deserialized: the worker is fine, only its current task fails. */
  private onMessageError(slot: Slot, err: Error): void {
    const task = slot.task;
    slot.task = undefined;
    task?.reject(err);
    this.dispatch();
  }

  private onExit(slot: Slot, code: number): void {
    if (this.terminating || this.slots[slot.index] !== slot) return;
    const reason = slot.error ? slot.error.message : `exit code ${code}`;
    if (!slot.ready) {
      // Failing during init is not input-dependent: respawning would just loop.
      this.failStart(slot.error ?? new Error(`${this.name} worker #${slot.index} exited during start-up (${reason})`));
      return;
    }
    const task = slot.task;
    slot.task = undefined;
    // Not retried: the input itself may be what kills the worker.
    task?.reject(new Error(`${this.name} worker #${slot.index} died while running "${task.method}" (${reason})`));
    if (!this.startFailure) this.slots[slot.index] = this.spawn(slot.index);
    this.dispatch();
  }

  /** A worker could not start: reject ready() and everything queued; running tasks on other workers still finish. */
  private failStart(err: Error): void {
    if (this.startFailure) return;
    this.startFailure = err;
    this.readyReject(err);
    for (const task of this.queue.splice(0)) task.reject(err);
    this.dispatch();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.task) continue;
      const task = this.queue.shift();
      if (!task) break;
      slot.task = task;
      try {
        slot.worker.postMessage(
          { id: task.id, method: task.method, payload: task.payload } satisfies TaskRequest,
          task.transfer,
        );
      } catch (err) {
        // Payload not cloneable: only this task fails, the worker stays idle.
        slot.task = undefined;
        task.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (this.onDrained && this.pending === 0) this.onDrained();
  }
}

/** Rebuilds a worker-side error; FaceError keeps its class so callers can use instanceof. */
function reviveError(e: SerializedError): Error {
  if (e.name === 'FaceError')
    return FaceError.fromJSON({ code: (e.code ?? 'ENGINE_FAILURE') as FaceErrorCode, message: e.message });
  const err = new Error(e.message);
  if (e.name && e.name !== 'Error') err.name = e.name;
  return err;
}
