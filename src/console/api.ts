import { useEffect, useState } from 'preact/hooks';

/** Where the page keeps the API key: this browser tab's session only (issue 23). */
const KEY_STORAGE = 'facepipe.apiKey';

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

/** An empty key means "no key" (a service on loopback that has none yet). */
export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

/** An API error answer, `{ error: { code, message } }`, with its HTTP status. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Listeners told when the service refuses the key (the app then asks for another). */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/** fetch() of an API path with the key; an error answer becomes an ApiFailure. */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = storedKey();
  if (key) headers.set('x-api-key', key);
  const response = await fetch(path, { ...init, headers });
  if (response.ok) return response;
  let code = `HTTP_${response.status}`;
  let message = response.statusText;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // not JSON: the status says it
  }
  if (response.status === 401) for (const listener of unauthorizedListeners) listener();
  throw new ApiFailure(response.status, code, message);
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await apiFetch(path, init)).json()) as T;
}

export function sendJson(method: string, body: unknown): RequestInit {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
}

/** The JSON of an API path, fetched again when `path` or `version` changes. */
export function useApi<T>(path: string | null, version = 0): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ loading: path !== null });
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    apiJson<T>(path).then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path, version]);
  return state;
}

/**
 * An image route as an object URL: an <img src> cannot send the key, so the image is fetched with
 * it and shown from a blob: URL, released when the element goes.
 */
export function useImage(path: string | null): { url?: string; failed: boolean } {
  const [state, setState] = useState<{ url?: string; failed: boolean }>({ failed: false });
  useEffect(() => {
    if (path === null) return;
    let url: string | undefined;
    let live = true;
    apiFetch(path)
      .then((response) => response.blob())
      .then(
        (blob) => {
          if (!live) return;
          url = URL.createObjectURL(blob);
          setState({ url, failed: false });
        },
        () => live && setState({ failed: true }),
      );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [path]);
  return state;
}

export function enc(value: string): string {
  return encodeURIComponent(value);
}
