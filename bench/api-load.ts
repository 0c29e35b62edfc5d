/**
 * The load generator of bench:api, run as its own process (forked by bench/api-bench.ts): autocannon
 * and the /healthz probe in the server's process would take turns with the server on one event loop
 * and count their own delays as the server's. Gets one LoadPlan over IPC, answers one LoadReport.
 */
import autocannon from 'autocannon';

export interface LoadPlan {
  url: string;
  /** GET every 100 ms on its own connection while the load runs. */
  healthUrl: string;
  connections: number;
  duration: number;
  contentType: string;
  /** The request body, base64 (IPC messages are JSON). */
  body: string;
  /** Headers of every request (e.g. an API key). */
  headers?: Record<string, string>;
}

export interface LoadFigures {
  requests: number;
  /** Answers 2xx, and those per second: the throughput (a 503 BUSY is answered fast and counts only in `non2xx`). */
  ok: number;
  okPerSecond: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  timeouts: number;
}

export interface LoadReport {
  load: LoadFigures;
  /** /healthz latencies in ms (a failed probe is null: JSON has no Infinity). */
  health: Array<number | null>;
  /** CPU time of this process over the run, ms (the load generator's own share of the machine). */
  cpuMs: number;
}

async function run(plan: LoadPlan): Promise<LoadReport> {
  const cpu = process.cpuUsage();
  const health: Array<number | null> = [];
  let running = true;
  const probe = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const response = await fetch(plan.healthUrl);
        await response.arrayBuffer();
        health.push(response.ok ? performance.now() - started : null);
      } catch {
        health.push(null);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const result = await autocannon({
    url: plan.url,
    method: 'POST',
    connections: plan.connections,
    duration: plan.duration,
    headers: { 'content-type': plan.contentType, ...plan.headers },
    body: Buffer.from(plan.body, 'base64'),
  });
  running = false;
  await probe;
  const used = process.cpuUsage(cpu);
  return {
    load: {
      requests: result.requests.total,
      ok: result['2xx'],
      okPerSecond: Math.round((result['2xx'] / plan.duration) * 10) / 10,
      rps: Math.round(result.requests.average * 10) / 10,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors,
      non2xx: result.non2xx,
      timeouts: result.timeouts,
    },
    health,
    cpuMs: Math.round((used.user + used.system) / 1000),
  };
}

process.once('message', (plan: LoadPlan) => {
  run(plan).then(
    (report) => process.send?.(report, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
