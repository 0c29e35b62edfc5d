/**
 * An ISO 8601 time as the API and the CLI take it: a date (`2026-11-28`, midnight UTC) or a date
 * and time with `Z` or an offset (`2026-11-28T02:15:00Z`, `2026-11-28T03:15:00+01:00`); null otherwise.
 * A time without a zone is refused rather than read in the server's zone.
 */
export function parseIsoTime(value: string): Date | null {
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i;
  const text = value.trim().toUpperCase();
  if (!iso.test(text)) return null;
  // Date.parse rolls 2026-02-30 over to March 2nd: refuse days the month does not have.
  const [year, month, day] = text.slice(0, 10).split('-').map(Number);
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day || month < 1 || month > 12) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? new Date(ms) : null;
}
