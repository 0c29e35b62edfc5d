/**
 * A client of the index service's HTTP API (index-http-server.ts) on Node's global fetch: one
 * method per endpoint. A non-2xx answer throws an IndexServiceError with the service's status,
 * code and message; no answer at all throws one with code UNREACHABLE (or TIMEOUT).
 */
import {
  DEFAULT_K,
  type ApiErrorBody,
  type DeletePersonResponse,
  type HealthResponse,
  type IdentifyResponse,
  type IndexServiceStatus,
  type PersonResponse,
  type PersonsResponse,
  type SearchResponse,
  type VerifyResponse,
} from './index-api-schemas.js';
import type { MatchPage } from '../matches/types.js';
import { IndexServiceError } from './index-service-error.js';

export interface IndexClientOptions {
  /** Per request, in ms (identify on a large image runs the engine). Default 120 s. */
  timeoutMs?: number;
  /**
   * The API key sent as `Authorization: Bearer <key>` (a service with keys refuses requests
   * without one). Default: FACEPIPE_API_KEY from the environment; '' sends none.
   */
  apiKey?: string;
}

/** The environment variable the commands and workers take their API key from. */
export const API_KEY_ENV = 'FACEPIPE_API_KEY';

export interface ImageRequestOptions {
  /** Names the image in the service's error messages, e.g. the file path. */
  name?: string;
}

interface RequestInit {
  method?: 'GET' | 'POST' | 'DELETE';
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  bytes?: Uint8Array;
}

export const DEFAULT_CLIENT_TIMEOUT_MS = 120_000;

export class IndexClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly apiKey: string | undefined;

  constructor(baseUrl: string, options: IndexClientOptions = {}) {
    const url = new URL(baseUrl); // throws on a malformed URL
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`IndexClient: expected an http:// or https:// URL, got ${baseUrl}`);
    }
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
    const apiKey = (options.apiKey ?? process.env[API_KEY_ENV] ?? '').trim();
    this.apiKey = apiKey === '' ? undefined : apiKey;
  }

  /** Nearest faces of each vector: one list per vector, ascending by distance. */
  search(
    vectors: readonly ArrayLike<number>[],
    k: number = DEFAULT_K,
    options: { persons?: boolean; model?: string; threshold?: number; marginWeight?: number } = {},
  ): Promise<SearchResponse> {
    return this.request<SearchResponse>('/v1/search', {
      method: 'POST',
      query: { threshold: options.threshold, marginWeight: options.marginWeight },
      json: { vectors: vectors.map((v) => Array.from(v)), k, persons: options.persons, model: options.model },
    });
  }

  /** Every face of an encoded image with its top-k persons and the decision. */
  identify(
    bytes: Uint8Array,
    k: number = DEFAULT_K,
    options: ImageRequestOptions & { threshold?: number; marginWeight?: number } = {},
  ): Promise<IdentifyResponse> {
    const { name, threshold, marginWeight } = options;
    return this.request<IdentifyResponse>('/v1/identify', {
      method: 'POST',
      query: { k, name, threshold, marginWeight },
      bytes,
    });
  }

  /** Is the person in the image? The closest of the image's faces to the person's faces decides. */
  verify(personId: string, bytes: Uint8Array, options: ImageRequestOptions = {}): Promise<VerifyResponse> {
    return this.request<VerifyResponse>('/v1/verify', {
      method: 'POST',
      query: { personId, name: options.name },
      bytes,
    });
  }

  persons(page: { limit?: number; offset?: number } = {}): Promise<PersonsResponse> {
    return this.request<PersonsResponse>('/v1/persons', { query: { limit: page.limit, offset: page.offset } });
  }

  /** One person's face ids; throws IndexServiceError (status 404, NOT_FOUND) for an unknown person. */
  person(personId: string): Promise<PersonResponse> {
    return this.request<PersonResponse>(`/v1/persons/${encodeURIComponent(personId)}`);
  }

  deletePerson(personId: string): Promise<DeletePersonResponse> {
    return this.request<DeletePersonResponse>(`/v1/persons/${encodeURIComponent(personId)}`, { method: 'DELETE' });
  }

  /**
   * Where the person was seen: their sightings (identified faces of result files), newest first;
   * `since` inclusive, `until` exclusive (a Date, or an ISO 8601 string the service accepts);
   * `camera`: that camera's sightings alone.
   * An unknown person is an empty page.
   */
  matches(
    personId: string,
    options: { since?: Date | string; until?: Date | string; limit?: number; offset?: number; camera?: string } = {},
  ): Promise<MatchPage> {
    const iso = (t: Date | string | undefined) => (t instanceof Date ? t.toISOString() : t);
    return this.request<MatchPage>(`/v1/persons/${encodeURIComponent(personId)}/matches`, {
      query: {
        since: iso(options.since),
        until: iso(options.until),
        camera: options.camera,
        limit: options.limit,
        offset: options.offset,
      },
    });
  }

  /** The index's size, HNSW parameters, change-log position and rebuild state. */
  status(): Promise<IndexServiceStatus> {
    return this.request<IndexServiceStatus>('/v1/index');
  }

  /** Starts a rebuild from the gallery (202); throws IndexServiceError CONFLICT while one runs. */
  rebuild(options: { m?: number; efConstruction?: number } = {}): Promise<IndexServiceStatus> {
    return this.request<IndexServiceStatus>('/v1/index/rebuild', { method: 'POST', json: options });
  }

  health(): Promise<HealthResponse> {
    return this.request<HealthResponse>('/healthz');
  }

  /** Whether the service is ready (its /readyz answers 200, not 503 not_ready). */
  async ready(): Promise<boolean> {
    try {
      await this.request<HealthResponse>('/readyz');
      return true;
    } catch (err) {
      if (err instanceof IndexServiceError && err.status === 503 && err.code === 'NOT_READY') return false;
      throw err;
    }
  }

  private async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.apiKey !== undefined) headers.authorization = `Bearer ${this.apiKey}`;
    let body: string | Uint8Array | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.bytes !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = init.bytes;
    }
    const method = init.method ?? 'GET';

    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      text = await response.text();
    } catch (err) {
      throw this.noAnswer(err);
    }

    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (response.ok) {
      if (parsed === undefined) {
        throw new IndexServiceError(
          response.status,
          'BAD_RESPONSE',
          `${method} ${url.pathname}: the index service at ${this.baseUrl} answered ${response.status} without JSON`,
        );
      }
      return parsed as T;
    }
    const error = (parsed as Partial<ApiErrorBody> | undefined)?.error;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      const hint = error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN' ? ` (set ${API_KEY_ENV})` : '';
      throw new IndexServiceError(response.status, error.code, error.message + hint);
    }
    if ((parsed as { status?: unknown } | undefined)?.status === 'not_ready') {
      throw new IndexServiceError(
        response.status,
        'NOT_READY',
        `the index service at ${this.baseUrl} is not ready yet`,
      );
    }
    throw new IndexServiceError(
      response.status,
      'BAD_RESPONSE',
      `${method} ${url.pathname}: the index service at ${this.baseUrl} answered ${response.status} ${response.statusText}`.trim(),
    );
  }

  /** A request that got no answer: the service is down, the host unknown, or it took too long. */
  private noAnswer(err: unknown): IndexServiceError {
    const name = (err as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new IndexServiceError(
        null,
        'TIMEOUT',
        `the index service at ${this.baseUrl} did not answer within ${this.timeoutMs} ms`,
        { cause: err },
      );
    }
    const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    const reason =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'host not found'
          : (code ??
            (typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err)));
    return new IndexServiceError(
      null,
      'UNREACHABLE',
      `no index service answers at ${this.baseUrl}: ${reason} (start it with \`facepipe serve\` or \`facepipe up\`, or set FACEPIPE_INDEX_URL)`,
      { cause: err },
    );
  }
}

/**
 * Whether the service holds the person (GET /v1/persons/:id answers 404 when not); any other
 * failure is thrown. Shared by `facepipe matches` and calibrate's probes so both read a 404 alike.
 */
export async function isEnrolled(client: IndexClient, personId: string): Promise<boolean> {
  try {
    await client.person(personId);
    return true;
  } catch (err) {
    if (err instanceof IndexServiceError && err.status === 404) return false;
    throw err;
  }
}
