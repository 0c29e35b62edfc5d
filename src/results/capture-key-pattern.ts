import type { WallClock } from './zoned-time.js';

/** A pattern that cannot be used; the message names the pattern and what is wrong with it. */
export class CaptureKeyPatternError extends Error {
  constructor(
    pattern: string,
    readonly reason: string,
  ) {
    super(`capture key pattern ${JSON.stringify(pattern)}: ${reason}`);
    this.name = 'CaptureKeyPatternError';
  }
}

/** The fields a pattern may hold, with what each one matches. */
const FIELDS = {
  yyyy: '(\\d{4})',
  MM: '(\\d{2})',
  dd: '(\\d{2})',
  HH: '(\\d{2})',
  mm: '(\\d{2})',
  ss: '(\\d{2})',
  SSS: '(\\d{3})',
  camera: '([^/]+?)',
  '*': '[^/]*?',
} as const;
type Field = keyof typeof FIELDS;

const TIME_FIELDS = ['yyyy', 'MM', 'dd', 'HH', 'mm', 'ss', 'SSS'] as const;
/** A pattern with any time field has these (seconds and milliseconds default to 0). */
const REQUIRED_TIME_FIELDS = ['yyyy', 'MM', 'dd', 'HH', 'mm'] as const;

/** What a key that matches gives: its wall-clock time (when the pattern has one) and camera. */
export interface KeyCapture {
  time?: WallClock;
  camera?: string;
}

/**
 * Where a snapshot's key says when and by which camera it was taken, e.g.
 * `{yyyy}-{MM}-{dd}/{camera}/{HH}{mm}{ss}.jpg`. Fields: {yyyy} {MM} {dd} {HH} {mm} {ss} {SSS}
 * (digits, that many), {camera} (text within one folder or file name), {*} (any text within one).
 * Other text matches itself, regardless of case. The pattern matches the end of the key at a
 * folder boundary, so the folders above it (the export's own) do not matter.
 */
export class CaptureKeyPattern {
  private readonly regex: RegExp;
  private readonly groups: Field[];

  private constructor(
    readonly pattern: string,
    regex: RegExp,
    groups: Field[],
  ) {
    this.regex = regex;
    this.groups = groups;
  }

  /** Throws a CaptureKeyPatternError naming the pattern and the problem. */
  static parse(pattern: string): CaptureKeyPattern {
    const fail = (reason: string) => new CaptureKeyPatternError(pattern, reason);
    if (pattern.trim() === '') throw fail('empty');
    if (pattern.startsWith('/')) throw fail('starts with "/" (keys are relative to the source)');
    let source = '';
    const groups: Field[] = [];
    const seen = new Set<Field>();
    const token = /\{([^{}]*)\}|[{}]|[^{}]+/g;
    for (const [text, name] of pattern.matchAll(token)) {
      if (name === undefined) {
        if (text === '{' || text === '}') throw fail(`unbalanced "${text}" (fields are written {name})`);
        source += text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        continue;
      }
      if (!(name in FIELDS)) {
        throw fail(
          `unknown field {${name}}; expected ${Object.keys(FIELDS)
            .map((f) => `{${f}}`)
            .join(' ')}`,
        );
      }
      const field = name as Field;
      if (field !== '*') {
        if (seen.has(field)) throw fail(`{${field}} appears twice`);
        seen.add(field);
        groups.push(field);
      }
      source += FIELDS[field];
    }
    if (seen.size === 0) throw fail('has no field: expected the time ({yyyy} {MM} {dd} {HH} {mm}) or {camera}');
    if (TIME_FIELDS.some((f) => seen.has(f))) {
      const missing = REQUIRED_TIME_FIELDS.filter((f) => !seen.has(f));
      if (missing.length > 0) throw fail(`a time needs ${missing.map((f) => `{${f}}`).join(' ')} too`);
    }
    return new CaptureKeyPattern(pattern, new RegExp(`(?:^|/)${source}$`, 'i'), groups);
  }

  get hasTime(): boolean {
    return this.groups.includes('yyyy');
  }

  /**
   * What `key` says, or null when it does not match. The time's fields are as written: whether
   * that day and hour exist (month 13, 02-30, 25:00) is captureTime's to check.
   */
  match(key: string): KeyCapture | null {
    const m = this.regex.exec(key);
    if (!m) return null;
    const value = new Map(this.groups.map((field, i) => [field, m[i + 1]]));
    const capture: KeyCapture = {};
    if (value.has('camera')) capture.camera = value.get('camera');
    if (this.hasTime) {
      const n = (field: Field) => Number(value.get(field) ?? 0);
      capture.time = {
        year: n('yyyy'),
        month: n('MM'),
        day: n('dd'),
        hour: n('HH'),
        minute: n('mm'),
        second: n('ss'),
        millisecond: n('SSS'),
      };
    }
    return capture;
  }
}
