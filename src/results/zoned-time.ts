/**
 * Wall-clock times in an IANA time zone, through Intl (Node's full ICU): no time-zone library.
 * A camera writes its local time without a zone (EXIF without OffsetTimeOriginal, a key's date);
 * the deployment's capture time zone says where that clock was.
 */

/** A wall-clock time: calendar fields, no zone. */
export interface WallClock {
  year: number;
  /** 1 .. 12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * The IANA zone's canonical name (e.g. "Europe/Paris", "UTC"); throws a RangeError naming an
 * unknown zone. Fixed offsets such as "+01:00" are refused: a camera's clock follows its zone's
 * daylight-saving rules.
 */
export function canonicalTimeZone(name: string): string {
  if (/^[+-]\d/.test(name)) {
    throw new RangeError(`unknown time zone "${name}": expected an IANA name such as Europe/Paris or UTC`);
  }
  try {
    return formatter(name).resolvedOptions().timeZone;
  } catch {
    throw new RangeError(`unknown time zone "${name}": expected an IANA name such as Europe/Paris or UTC`);
  }
}

/** The zone's offset from UTC at the instant `utcMs`, in ms (east positive). */
export function zoneOffsetMs(timeZone: string, utcMs: number): number {
  const seconds = Math.floor(utcMs / 1000) * 1000;
  const part = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(seconds))
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(
    Number(part.year),
    Number(part.month) - 1,
    Number(part.day),
    Number(part.hour),
    Number(part.minute),
    Number(part.second),
  );
  return asUtc - seconds;
}

/** The wall clock's fields read as if in UTC (a valid calendar date), or null for an impossible one. */
export function wallClockMs(t: WallClock): number | null {
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.hour > 23 || t.minute > 59 || t.second > 59) return null;
  if (t.millisecond < 0 || t.millisecond > 999 || t.hour < 0 || t.minute < 0 || t.second < 0) return null;
  const ms = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second, t.millisecond);
  // Date.UTC rolls 02-30 over to March, and maps years 0-99 to 1900-1999: refuse both.
  const back = new Date(ms);
  if (back.getUTCFullYear() !== t.year || back.getUTCDate() !== t.day) return null;
  return ms;
}

/**
 * The instant a wall-clock time in `timeZone` names, with the zone's offset then. In the hour a
 * clock goes back (it shows twice) the second one is taken; in the hour it skips, the time is read
 * with the offset before the change (02:30 in a spring-forward gap at 02:00 is 03:30 after it).
 */
export function zonedInstant(local: number, timeZone: string): { ms: number; offsetMs: number } {
  const first = zoneOffsetMs(timeZone, local);
  const ms = local - first;
  const second = zoneOffsetMs(timeZone, ms);
  if (second === first) return { ms, offsetMs: first };
  return { ms: local - second, offsetMs: zoneOffsetMs(timeZone, local - second) };
}

/** ISO 8601 of the instant `ms` as the wall clock at `offsetMs` shows it: `…T02:15:07.000+01:00`, or `…Z`. */
export function isoWithOffset(ms: number, offsetMs: number): string {
  const local = new Date(ms + offsetMs).toISOString().slice(0, 23);
  if (offsetMs === 0) return `${local}Z`;
  const minutes = Math.abs(Math.round(offsetMs / 60_000));
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return `${local}${offsetMs < 0 ? '-' : '+'}${hh}:${mm}`;
}
