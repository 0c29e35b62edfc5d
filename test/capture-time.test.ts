/** When a snapshot was taken (src/results/capture-time.ts): EXIF, else its key, else last-modified. */
import { describe, expect, it } from 'vitest';
import { CaptureKeyPattern, CaptureKeyPatternError } from '../src/results/capture-key-pattern.js';
import { captureSettings, captureTime, folderCamera } from '../src/results/capture-time.js';
import { canonicalTimeZone, zonedInstant } from '../src/results/zoned-time.js';

const PATTERN = CaptureKeyPattern.parse('{yyyy}-{MM}-{dd}/{camera}/{HH}{mm}{ss}.jpg');
const MODIFIED = '2026-12-06T09:00:00.000Z'; // the upload, a week later
const paris = { keyPattern: PATTERN, timeZone: 'Europe/Paris' };

describe('captureTime', () => {
  it('takes EXIF DateTimeOriginal with its OffsetTimeOriginal, whatever the time zone setting', () => {
    const exif = { dateTimeOriginal: '2026-11-28T02:15:07.250', offsetTimeOriginal: '-05:00' };
    const capture = captureTime({ key: '2026-11-28/cam-03/021500.jpg', exif, modified: MODIFIED }, paris);
    expect(capture).toEqual({ captured: '2026-11-28T02:15:07.250-05:00', capturedFrom: 'exif', camera: 'cam-03' });
    expect(Date.parse(capture.captured!)).toBe(Date.parse('2026-11-28T07:15:07.250Z'));
  });

  it('reads EXIF without an offset in the capture time zone (winter and summer time), UTC by default', () => {
    const winter = { dateTimeOriginal: '2026-11-28T02:15:07' };
    expect(captureTime({ key: 'x.jpg', exif: winter }, { timeZone: 'Europe/Paris' })).toEqual({
      captured: '2026-11-28T02:15:07.000+01:00',
      capturedFrom: 'exif',
    });
    const summer = { dateTimeOriginal: '2026-07-14T22:00:00' };
    expect(captureTime({ key: 'x.jpg', exif: summer }, { timeZone: 'Europe/Paris' }).captured).toBe(
      '2026-07-14T22:00:00.000+02:00',
    );
    expect(captureTime({ key: 'x.jpg', exif: winter }).captured).toBe('2026-11-28T02:15:07.000Z');
    // A blank offset (cameras write "  :  ") counts as none.
    expect(
      captureTime({ key: 'x.jpg', exif: { ...winter, offsetTimeOriginal: '  :  ' } }, { timeZone: 'Asia/Tokyo' })
        .captured,
    ).toBe('2026-11-28T02:15:07.000+09:00');
  });

  it('takes the time from the key with the pattern, in the time zone, when there is no EXIF time', () => {
    const capture = captureTime({ key: 'export/2026-11-28/cam-03/021500.jpg', modified: MODIFIED }, paris);
    expect(capture).toEqual({ captured: '2026-11-28T02:15:00.000+01:00', capturedFrom: 'key', camera: 'cam-03' });
    const ny = captureTime(
      { key: '2026-07-04/lobby/235959.JPG', modified: MODIFIED },
      { keyPattern: PATTERN, timeZone: 'America/New_York' },
    );
    expect(ny).toEqual({ captured: '2026-07-04T23:59:59.000-04:00', capturedFrom: 'key', camera: 'lobby' });
  });

  it('falls back to last-modified when the key does not match the pattern, and the camera to the parent folder', () => {
    for (const key of ['2026-11-28/cam-03/0215.jpg', 'cam-03/021500.jpg', '2026-11-28/cam-03/021500.png']) {
      expect(captureTime({ key, modified: MODIFIED }, paris)).toEqual({
        captured: MODIFIED,
        capturedFrom: 'modified',
        camera: 'cam-03',
      });
    }
  });

  it('believes no impossible or unset time: a day the month lacks, 25 h, a camera clock never set', () => {
    expect(captureTime({ key: '2026-02-30/cam-1/021500.jpg', modified: MODIFIED }, paris).capturedFrom).toBe(
      'modified',
    );
    expect(captureTime({ key: '2026-11-28/cam-1/251500.jpg', modified: MODIFIED }, paris).capturedFrom).toBe(
      'modified',
    );
    // exif-reader reads "0000:00:00 00:00:00" as 1899-11-30.
    const unset = { dateTimeOriginal: '1899-11-30T00:00:00' };
    expect(captureTime({ key: '2026-11-28/cam-1/021500.jpg', exif: unset }, paris).capturedFrom).toBe('key');
    expect(captureTime({ key: 'x.jpg', exif: { dateTimeOriginal: 'garbage' }, modified: MODIFIED })).toEqual({
      captured: MODIFIED,
      capturedFrom: 'modified',
    });
  });

  it('says nothing when nothing tells the time; no folder, no camera', () => {
    expect(captureTime({ key: 'x.jpg' })).toEqual({});
    expect(captureTime({ key: 'x.jpg', modified: 'not a time' })).toEqual({});
    expect(folderCamera('a/b/c.jpg')).toBe('b');
    expect(folderCamera('c.jpg')).toBeUndefined();
  });

  it('a pattern of the camera alone, and the {*} and {SSS} fields', () => {
    const camOnly = CaptureKeyPattern.parse('{camera}_{*}.jpg');
    expect(captureTime({ key: 'night/gate_0001.jpg', modified: MODIFIED }, { keyPattern: camOnly })).toEqual({
      captured: MODIFIED,
      capturedFrom: 'modified',
      camera: 'gate',
    });
    const flat = CaptureKeyPattern.parse('{camera}-{yyyy}{MM}{dd}T{HH}{mm}{ss}{SSS}-{*}.jpg');
    expect(captureTime({ key: 'dock-20261128T021507120-x9.jpg' }, { keyPattern: flat })).toEqual({
      captured: '2026-11-28T02:15:07.120Z',
      capturedFrom: 'key',
      camera: 'dock',
    });
  });
});

describe('CaptureKeyPattern.parse', () => {
  it.each([
    ['', /empty/],
    ['{yyyy}/{foo}.jpg', /unknown field \{foo\}/],
    ['{yyyy}-{MM}-{dd}.jpg', /a time needs \{HH\} \{mm\} too/],
    ['{camera}/{camera}.jpg', /\{camera\} appears twice/],
    ['{camera/x.jpg', /unbalanced "\{"/],
    ['cam}/x.jpg', /unbalanced "\}"/],
    ['plain/name.jpg', /has no field/],
    ['/{camera}/x.jpg', /starts with "\/"/],
  ])('refuses %j, naming the pattern and the problem', (pattern, reason) => {
    const err = (() => {
      try {
        CaptureKeyPattern.parse(pattern);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CaptureKeyPatternError);
    expect((err as Error).message).toMatch(reason);
    expect((err as Error).message).toContain(JSON.stringify(pattern));
  });

  it('matches whole folder and file names at the end of the key, literal text regardless of case', () => {
    expect(PATTERN.match('2026-11-28/cam-03/021500.jpg')).toMatchObject({ camera: 'cam-03' });
    expect(PATTERN.match('x2026-11-28/cam-03/021500.jpg')).toBeNull();
    expect(PATTERN.match('2026-11-28/cam-03/021500.jpg.bak')).toBeNull();
    expect(PATTERN.match('2026-11-28/a/b/021500.jpg')).toBeNull();
    expect(CaptureKeyPattern.parse('a.b/{camera}.jpg').match('axb/c.jpg')).toBeNull(); // "." is literal
  });
});

describe('time zones', () => {
  it('canonical IANA names; unknown names and fixed offsets refused', () => {
    expect(canonicalTimeZone('europe/paris')).toBe('Europe/Paris');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(() => canonicalTimeZone('Mars/Olympus')).toThrow(/unknown time zone "Mars\/Olympus"/);
    expect(() => canonicalTimeZone('+01:00')).toThrow(/IANA name/);
    expect(() => captureSettings({ timeZone: 'Nowhere' })).toThrow(/Nowhere/);
    expect(() => captureSettings({ keyPattern: '{x}' })).toThrow(/unknown field \{x\}/);
  });

  it('the hour a clock goes back is read after the change; the hour it skips, with the offset before it', () => {
    const local = (iso: string) => Date.parse(`${iso}Z`);
    // Paris, 2026-10-25: 03:00 CEST -> 02:00 CET; 02:30 happens twice.
    expect(new Date(zonedInstant(local('2026-10-25T02:30:00'), 'Europe/Paris').ms).toISOString()).toBe(
      '2026-10-25T01:30:00.000Z',
    );
    // Paris, 2026-03-29: 02:00 CET -> 03:00 CEST; 02:30 does not exist.
    expect(new Date(zonedInstant(local('2026-03-29T02:30:00'), 'Europe/Paris').ms).toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
  });
});
