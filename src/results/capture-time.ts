/**
 * When a snapshot was taken, and by which camera: the result's `input.captured`, `capturedFrom`
 * and `camera`. A snapshot's last-modified time is when it was uploaded: right for a live camera,
 * wrong for a back-filled export (a night re-uploaded today would say today). So, in order:
 * EXIF DateTimeOriginal (with OffsetTimeOriginal, else read in the capture time zone), else the
 * time the key holds (CaptureKeyPattern, in the capture time zone), else last-modified.
 */
import { CaptureKeyPattern } from './capture-key-pattern.js';
import { canonicalTimeZone, isoWithOffset, type WallClock, wallClockMs, zonedInstant } from './zoned-time.js';

export type CaptureSource = 'exif' | 'key' | 'modified';
export const CAPTURE_SOURCES = ['exif', 'key', 'modified'] as const satisfies readonly CaptureSource[];

/** The EXIF capture time as the engine reads it (decode-image.ts): the camera's wall clock. */
export interface ExifCaptureTime {
  /** DateTimeOriginal (with SubSecTimeOriginal) as `YYYY-MM-DDTHH:mm:ss[.SSS]`, no zone. */
  dateTimeOriginal: string;
  /** OffsetTimeOriginal as written, e.g. `+01:00`. */
  offsetTimeOriginal?: string;
}

export interface CaptureSettings {
  /** Where the key says when (and by which camera); none: the time comes from EXIF or last-modified. */
  keyPattern?: CaptureKeyPattern;
  /** IANA zone of the cameras' clocks, for times written without an offset. Default UTC. */
  timeZone?: string;
}

/**
 * The settings from their text (FACEPIPE_CAPTURE_KEY_PATTERN, FACEPIPE_CAPTURE_TIME_ZONE; the
 * app config has checked both). Throws a CaptureKeyPatternError or a RangeError naming a bad one.
 */
export function captureSettings(text: { keyPattern?: string; timeZone?: string }): CaptureSettings {
  return {
    ...(text.keyPattern === undefined ? {} : { keyPattern: CaptureKeyPattern.parse(text.keyPattern) }),
    timeZone: canonicalTimeZone(text.timeZone ?? 'UTC'),
  };
}

export interface CaptureInput {
  /** The snapshot's key relative to its source. */
  key: string;
  exif?: ExifCaptureTime;
  /** ISO 8601 last-modified time of the snapshot object. */
  modified?: string;
}

export interface Capture {
  /** ISO 8601 with the offset of the camera's clock (`Z` for last-modified). */
  captured?: string;
  capturedFrom?: CaptureSource;
  camera?: string;
}

/** Cameras whose clocks were never set write 0000:00:00 or similar: such times are not believed. */
const EARLIEST_YEAR = 1970;

/** When and by which camera the snapshot was taken, as far as anything says (see the module comment). */
export function captureTime(input: CaptureInput, settings: CaptureSettings = {}): Capture {
  const timeZone = settings.timeZone ?? 'UTC';
  const fromKey = settings.keyPattern?.match(input.key) ?? null;
  const camera = fromKey?.camera ?? folderCamera(input.key);
  const withCamera = (c: Capture): Capture => (camera === undefined ? c : { ...c, camera });

  const exif = input.exif ? exifInstant(input.exif, timeZone) : null;
  if (exif !== null) return withCamera({ captured: exif, capturedFrom: 'exif' });
  const key = fromKey?.time ? zoned(fromKey.time, timeZone) : null;
  if (key !== null) return withCamera({ captured: key, capturedFrom: 'key' });
  const modified = input.modified === undefined ? NaN : Date.parse(input.modified);
  if (Number.isFinite(modified))
    return withCamera({ captured: new Date(modified).toISOString(), capturedFrom: 'modified' });
  return withCamera({});
}

/** The camera a key's folder names: its parent folder (`…/cam-03/021500.jpg` -> `cam-03`), if any. */
export function folderCamera(key: string): string | undefined {
  const parts = key.split('/');
  const folder = parts.length >= 2 ? parts[parts.length - 2] : '';
  return folder === '' ? undefined : folder;
}

function exifInstant(exif: ExifCaptureTime, timeZone: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(exif.dateTimeOriginal);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const millisecond = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  const time: WallClock = { year, month, day, hour, minute, second, millisecond };
  const offset = exif.offsetTimeOriginal === undefined ? null : parseOffset(exif.offsetTimeOriginal);
  if (offset === null) return zoned(time, timeZone);
  const local = believable(time);
  return local === null ? null : isoWithOffset(local - offset, offset);
}

/** The wall clock in `timeZone`, as ISO 8601 with the zone's offset then; null for an impossible time. */
function zoned(time: WallClock, timeZone: string): string | null {
  const local = believable(time);
  if (local === null) return null;
  const { ms, offsetMs } = zonedInstant(local, timeZone);
  return isoWithOffset(ms, offsetMs);
}

function believable(time: WallClock): number | null {
  return time.year < EARLIEST_YEAR ? null : wallClockMs(time);
}

/** `+01:00` / `-05:30` (EXIF's form) in ms; null for anything else (blank, `  :  `). */
function parseOffset(text: string): number | null {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m || Number(m[2]) > 14 || Number(m[3]) > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
}
