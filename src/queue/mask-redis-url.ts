/**
 * A Redis URL fit for messages and logs: its password (and a username's, if any) replaced by
 * `***`, e.g. `redis://:***@cache:6379/0`. A value that does not parse as a URL is not echoed at
 * all, since it may be a password typed in the wrong place.
 */
export function maskRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(an unparsable Redis URL)';
  }
  if (parsed.password !== '') parsed.password = '***';
  return parsed.href;
}
