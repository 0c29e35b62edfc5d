import { useEffect, useState } from 'preact/hooks';

/** The page's place: `#/<path>?<query>`; a hash keeps every page at `/` on the service. */
export interface Route {
  parts: string[];
  query: URLSearchParams;
}

function parse(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parse(location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** `#/a/b?x=1` from parts and query values (undefined and '' left out). */
export function href(parts: string[], query: Record<string, string | number | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') search.set(name, String(value));
  const tail = search.toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${tail ? `?${tail}` : ''}`;
}

export function go(parts: string[], query: Record<string, string | number | undefined> = {}): void {
  location.hash = href(parts, query);
}
