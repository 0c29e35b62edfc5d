import type { Pair, PairsFile } from './types.js';

/** A malformed pairs file; `line` is 1-based. */
export class PairsFileError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`pairs file line ${line}: ${message}`);
    this.name = 'PairsFileError';
  }
}

/** Path of image `index` (1-based) of `name`, relative to the LFW root: `<name>/<name>_<NNNN>.jpg`. */
export function lfwImagePath(name: string, index: number): string {
  const problem = nameProblem(name);
  if (problem) throw new RangeError(`LFW person name ${JSON.stringify(name)} ${problem}`);
  if (!Number.isSafeInteger(index) || index < 1) {
    throw new RangeError(`LFW image index must be a positive integer, got ${index}`);
  }
  return `${name}/${name}_${String(index).padStart(4, '0')}.jpg`;
}

/**
 * Parses the LFW pairs format (pairs.txt, View 2): a header `<folds> <n>`, then per fold n matched
 * lines `name i j` and n mismatched lines `name1 i name2 j`. Fields may be separated by any
 * whitespace; trailing blank lines are ignored. With folds = 1 the result is a single fold.
 */
export function parsePairsFile(text: string): PairsFile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  let end = lines.length;
  while (end > 0 && lines[end - 1].trim() === '') end--;

  const header = fields(lines[0] ?? '');
  if (header.length !== 2 || !header.every(isPositiveInteger)) {
    throw new PairsFileError(
      1,
      `expected a header "<folds> <pairs per class>" of two positive integers (e.g. "10 300"), got ${show(lines[0] ?? '')}`,
    );
  }
  const foldCount = Number(header[0]);
  const n = Number(header[1]);
  const expected = foldCount * 2 * n;
  const promise = `the header promises ${foldCount} fold(s) x (${n} matched + ${n} mismatched) = ${expected} pair lines`;

  const folds: Pair[][] = [];
  let index = 1; // 0-based index into lines of the next pair line
  for (let f = 0; f < foldCount; f++) {
    const fold: Pair[] = [];
    for (let k = 0; k < 2 * n; k++, index++) {
      const lineNo = index + 1;
      const matched = k < n;
      const where = `fold ${f + 1}, ${matched ? 'matched' : 'mismatched'} pair ${(k % n) + 1} of ${n}`;
      if (index >= end) {
        throw new PairsFileError(lineNo, `file ends after ${index - 1} pair lines, expected ${where}; ${promise}`);
      }
      fold.push(matched ? parseMatched(lines[index], lineNo, where) : parseMismatched(lines[index], lineNo, where));
    }
    folds.push(fold);
  }
  if (index < end) {
    throw new PairsFileError(index + 1, `unexpected extra line ${show(lines[index])}; ${promise}`);
  }
  return { folds };
}

function parseMatched(line: string, lineNo: number, where: string): Pair {
  const parts = fields(line);
  if (parts.length !== 3) {
    throw new PairsFileError(lineNo, `expected "name i j" (${where}), got ${parts.length} field(s): ${show(line)}`);
  }
  const [name, i, j] = parts;
  checkName(name, lineNo);
  return {
    a: lfwImagePath(name, imageIndex(i, lineNo)),
    b: lfwImagePath(name, imageIndex(j, lineNo)),
    same: true,
  };
}

function parseMismatched(line: string, lineNo: number, where: string): Pair {
  const parts = fields(line);
  if (parts.length !== 4) {
    throw new PairsFileError(
      lineNo,
      `expected "name1 i name2 j" (${where}), got ${parts.length} field(s): ${show(line)}`,
    );
  }
  const [name1, i, name2, j] = parts;
  checkName(name1, lineNo);
  checkName(name2, lineNo);
  if (name1 === name2) {
    throw new PairsFileError(lineNo, `mismatched pair names the same person twice (${where}): ${show(line)}`);
  }
  return {
    a: lfwImagePath(name1, imageIndex(i, lineNo)),
    b: lfwImagePath(name2, imageIndex(j, lineNo)),
    same: false,
  };
}

function fields(line: string): string[] {
  const trimmed = line.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

function isPositiveInteger(text: string): boolean {
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) && Number(text) > 0;
}

function imageIndex(text: string, lineNo: number): number {
  if (!isPositiveInteger(text)) {
    throw new PairsFileError(lineNo, `image number must be a positive integer (1-based), got ${show(text)}`);
  }
  return Number(text);
}

function checkName(name: string, lineNo: number): void {
  const problem = nameProblem(name);
  if (problem) throw new PairsFileError(lineNo, `person name ${show(name)} ${problem}`);
}

/** Names become path segments, so they must not be able to leave the LFW root. */
function nameProblem(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'is not a valid name';
  if (/[/\\]/.test(name)) return 'must not contain a path separator';
  if (/\s/.test(name)) return 'must not contain whitespace';
  return undefined;
}

function show(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
