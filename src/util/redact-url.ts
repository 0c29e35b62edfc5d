/**
 * A URL safe to print: its password (and a user name that may be a token) replaced by "***".
 * Every message that names REDIS_URL (or any URL a user may write credentials into) goes through
 * this, so a secret never reaches a terminal, a log line or an error. A string that does not parse
 * as a URL is still scrubbed of anything between "//" and "@".
 */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password === '' && url.username === '') return value;
    if (url.password !== '') url.password = '***';
    // redis://<password>@host is Redis' own form (no user): the user slot holds the secret then.
    else url.username = '***';
    return url.toString();
  } catch {
    return value.replace(/\/\/.*@/, '//***@');
  }
}
