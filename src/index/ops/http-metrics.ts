import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX, replacingMetric, sharedHistogram } from '../../util/metrics-registry.js';
import type { FaceIndex } from '../face-index.js';

/** Routes whose time is the index search (plus, for identify and verify, the engine's). */
const SEARCH_ROUTES = new Set(['/v1/search', '/v1/identify', '/v1/verify']);

/** Seconds: an HNSW search is sub-millisecond, an identify with the engine up to seconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface HttpMetricsOptions {
  registry: Registry;
  /** The index served now (read on each scrape). */
  index: () => FaceIndex;
  /** Images of the image routes being analysed and waiting for a slot now (read on each scrape). */
  images?: () => { analysing: number; waiting: number };
}

/**
 * The service's side of the metrics: GET /metrics (role public: Prometheus scrapes without a key),
 * every request's duration by route pattern (not URL: person ids would make a series each), the
 * search routes' latency, and the index's size. Register it before the routes.
 */
export function registerHttpMetrics(app: FastifyInstance, { registry, index, images }: HttpMetricsOptions): void {
  const requests = sharedHistogram(registry, 'http_request_duration_seconds', {
    help: 'HTTP requests of the index service by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
  });
  const search = sharedHistogram(registry, 'search_duration_seconds', {
    help: 'Answered search, identify and verify requests (status < 400), by route',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
  });
  new Gauge({
    name: replacingMetric(registry, `${METRIC_PREFIX}index_faces`),
    help: 'Faces in the index served',
    registers: [registry],
    collect() {
      this.set(index().size);
    },
  });
  new Gauge({
    name: replacingMetric(registry, `${METRIC_PREFIX}index_persons`),
    help: 'Persons in the index served',
    registers: [registry],
    collect() {
      this.set(index().persons().length);
    },
  });

  if (images) {
    new Gauge({
      name: replacingMetric(registry, `${METRIC_PREFIX}http_images_analysing`),
      help: 'Images of /v1/identify and /v1/verify being analysed (at most FACEPIPE_HTTP_MAX_IMAGES)',
      registers: [registry],
      collect() {
        this.set(images().analysing);
      },
    });
    new Gauge({
      name: replacingMetric(registry, `${METRIC_PREFIX}http_images_waiting`),
      help: 'Requests waiting for an image slot (at most FACEPIPE_HTTP_MAX_QUEUED_IMAGES)',
      registers: [registry],
      collect() {
        this.set(images().waiting);
      },
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    // Unmatched URLs share one label: a scanner must not create a series per path it tries.
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    requests.observe({ method: request.method, route, status_code: String(reply.statusCode) }, seconds);
    if (SEARCH_ROUTES.has(route) && reply.statusCode < 400) search.observe({ route }, seconds);
  });

  app.get('/metrics', { config: { role: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
}
