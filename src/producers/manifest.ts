import { personIdProblem } from '../gallery/person-id.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ManifestError } from './manifest-error.js';
import type { ManifestEntry } from './types.js';

export type ManifestFormat = 'csv' | 'jsonl';

/** The format of a manifest file from its extension: .csv, or .jsonl / .ndjson. */
export function manifestFormatOf(file: string): ManifestFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new ManifestError(`manifest ${file}: unknown format ${JSON.stringify(ext)} (expected .csv, .jsonl or .ndjson)`);
}

/** Reads and parses a manifest file; errors name the file and the line. */
export async function readManifestFile(file: string): Promise<ManifestEntry[]> {
  const format = manifestFormatOf(file);
  const text = await readFile(file, 'utf8');
  try {
    return parseManifest(text, format);
  } catch (err) {
    if (err instanceof ManifestError) throw new ManifestError(`manifest ${file}: ${err.message}`, err.line);
    throw err;
  }
}

/**
 * Parses a manifest:
 * - CSV: a header naming the columns `key` and `personId` (and optionally `name`), in any order, then
 *   one row per image. Fields may be double-quoted ("" is a quote inside); a field cannot span lines.
 * - JSONL: one object per line, `{"key": ..., "personId": ..., "name"?: ...}`.
 * Blank lines are ignored. A key listed twice is an error (naming both lines).
 */
export function parseManifest(text: string, format: ManifestFormat): ManifestEntry[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const entries = format === 'csv' ? parseCsv(lines) : parseJsonl(lines);
  const seen = new Map<string, number>();
  for (const entry of entries) {
    const previous = seen.get(entry.key);
    if (previous !== undefined) {
      throw new ManifestError(
        `line ${entry.line}: key ${JSON.stringify(entry.key)} is already listed on line ${previous}`,
        entry.line,
      );
    }
    seen.set(entry.key, entry.line);
  }
  return entries;
}

function parseCsv(lines: string[]): ManifestEntry[] {
  const headerLine = lines.findIndex((line) => line.trim() !== '');
  if (headerLine < 0) throw new ManifestError('empty CSV manifest: expected a header "key,personId[,name]"', 1);
  const header = splitCsvLine(lines[headerLine], headerLine + 1).map((field) => field.trim());
  const keyColumn = header.indexOf('key');
  const personColumn = header.indexOf('personId');
  const nameColumn = header.indexOf('name');
  if (keyColumn < 0 || personColumn < 0) {
    throw new ManifestError(
      `line ${headerLine + 1}: the CSV header must name the columns key and personId (and optionally name), got ${JSON.stringify(lines[headerLine])}`,
      headerLine + 1,
    );
  }
  const entries: ManifestEntry[] = [];
  for (let i = headerLine + 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const line = i + 1;
    const fields = splitCsvLine(lines[i], line);
    if (fields.length !== header.length) {
      throw new ManifestError(
        `line ${line}: expected ${header.length} fields (${header.join(',')}), got ${fields.length}`,
        line,
      );
    }
    const name = nameColumn >= 0 ? fields[nameColumn].trim() : '';
    entries.push(
      checkedEntry(fields[keyColumn].trim(), fields[personColumn].trim(), name === '' ? undefined : name, line),
    );
  }
  return entries;
}

/** One CSV line into fields; double-quoted fields may hold ',' and '""'. */
function splitCsvLine(text: string, line: number): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length)
          throw new ManifestError(`line ${line}: unterminated quoted field (a field cannot span lines)`, line);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      if (i < text.length && text[i] !== ',')
        throw new ManifestError(`line ${line}: unexpected character after a quoted field at column ${i + 1}`, line);
      fields.push(value);
    } else {
      const end = text.indexOf(',', i);
      const value = text.slice(i, end < 0 ? text.length : end);
      if (value.includes('"'))
        throw new ManifestError(
          `line ${line}: a quote inside an unquoted field at column ${i + 1 + value.indexOf('"')}`,
          line,
        );
      fields.push(value);
      i = end < 0 ? text.length : end;
    }
    if (i >= text.length) return fields;
    i++; // the ','
  }
}

function parseJsonl(lines: string[]): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(lines[i]);
    } catch (err) {
      throw new ManifestError(`line ${line}: invalid JSON: ${(err as Error).message}`, line);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ManifestError(`line ${line}: expected an object {"key": ..., "personId": ..., "name"?: ...}`, line);
    }
    const { key, personId, name } = value as Record<string, unknown>;
    if (typeof key !== 'string') throw new ManifestError(`line ${line}: "key" must be a string`, line);
    if (typeof personId !== 'string') throw new ManifestError(`line ${line}: "personId" must be a string`, line);
    if (name !== undefined && name !== null && typeof name !== 'string')
      throw new ManifestError(`line ${line}: "name" must be a string`, line);
    entries.push(
      checkedEntry(
        key.trim(),
        personId.trim(),
        typeof name === 'string' && name.trim() !== '' ? name.trim() : undefined,
        line,
      ),
    );
  }
  return entries;
}

/**
 * One line's entry. An empty key breaks the file (nothing to report the line under); a person id
 * that breaks the rule fails that line only: the entry carries the problem, the run goes on.
 */
function checkedEntry(key: string, personId: string, name: string | undefined, line: number): ManifestEntry {
  if (key === '') throw new ManifestError(`line ${line}: key is empty`, line);
  const entry: ManifestEntry = name === undefined ? { key, personId, line } : { key, personId, name, line };
  const problem = personIdProblem(personId);
  if (problem !== undefined) entry.personIdProblem = problem;
  return entry;
}
