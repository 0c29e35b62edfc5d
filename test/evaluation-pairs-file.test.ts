import { describe, expect, it } from 'vitest';
import { lfwImagePath, PairsFileError, parsePairsFile } from '../src/evaluation/pairs-file.js';

const GOOD = [
  '2\t2',
  'Abel_Pacheco\t1\t4',
  'Akhmed_Zakayev\t1\t3',
  'Abdel_Madi_Shabneh\t1\tDean_Barker\t1',
  'Abdel_Madi_Shabneh\t1\tGiancarlo_Fisichella\t1',
  'Alan_Ball\t1\t2',
  'Albert_Costa\t4\t6',
  'Abdullah_Nasseef\t1\tRoberto_Marinho\t1',
  'Abel_Pacheco\t3\tJong_Thae_Hwa\t2',
  '',
  '',
].join('\n');

function errorOf(text: string): PairsFileError {
  try {
    parsePairsFile(text);
  } catch (e) {
    if (e instanceof PairsFileError) return e;
    throw e;
  }
  throw new Error('expected parsePairsFile to throw');
}

describe('lfwImagePath', () => {
  it('zero-pads the 1-based image number to 4 digits', () => {
    expect(lfwImagePath('Aaron_Peirsol', 1)).toBe('Aaron_Peirsol/Aaron_Peirsol_0001.jpg');
    expect(lfwImagePath('George_W_Bush', 42)).toBe('George_W_Bush/George_W_Bush_0042.jpg');
    expect(lfwImagePath('George_W_Bush', 530)).toBe('George_W_Bush/George_W_Bush_0530.jpg');
    expect(lfwImagePath('X', 12345)).toBe('X/X_12345.jpg');
  });

  it('rejects index 0, fractions and names that would leave the LFW root', () => {
    expect(() => lfwImagePath('A', 0)).toThrow(RangeError);
    expect(() => lfwImagePath('A', 1.5)).toThrow(RangeError);
    expect(() => lfwImagePath('..', 1)).toThrow(RangeError);
    expect(() => lfwImagePath('a/b', 1)).toThrow(/path separator/);
  });
});

describe('parsePairsFile', () => {
  it('parses folds of matched then mismatched pairs into relative paths', () => {
    const { folds } = parsePairsFile(GOOD);
    expect(folds).toHaveLength(2);
    expect(folds[0]).toEqual([
      { a: 'Abel_Pacheco/Abel_Pacheco_0001.jpg', b: 'Abel_Pacheco/Abel_Pacheco_0004.jpg', same: true },
      { a: 'Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg', b: 'Akhmed_Zakayev/Akhmed_Zakayev_0003.jpg', same: true },
      { a: 'Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg', b: 'Dean_Barker/Dean_Barker_0001.jpg', same: false },
      {
        a: 'Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg',
        b: 'Giancarlo_Fisichella/Giancarlo_Fisichella_0001.jpg',
        same: false,
      },
    ]);
    expect(folds[1].map((p) => p.same)).toEqual([true, true, false, false]);
    expect(folds[1][1]).toEqual({
      a: 'Albert_Costa/Albert_Costa_0004.jpg',
      b: 'Albert_Costa/Albert_Costa_0006.jpg',
      same: true,
    });
    expect(folds[1][3].b).toBe('Jong_Thae_Hwa/Jong_Thae_Hwa_0002.jpg');
  });

  it('accepts any whitespace, CRLF line ends and a "10 300"-style header', () => {
    const spaced = GOOD.replace(/\t/g, '  ').replace(/\n/g, '\r\n').replace('2  2', ' 2 2 ');
    expect(parsePairsFile(spaced)).toEqual(parsePairsFile(GOOD));
  });

  it('reads folds = 1 as one fold of n matched + n mismatched pairs', () => {
    const { folds } = parsePairsFile('1 1\nA 1 2\nA 1 B 3\n');
    expect(folds).toEqual([
      [
        { a: 'A/A_0001.jpg', b: 'A/A_0002.jpg', same: true },
        { a: 'A/A_0001.jpg', b: 'B/B_0003.jpg', same: false },
      ],
    ]);
  });

  it('rejects a header that is not two positive integers, on line 1', () => {
    for (const header of ['1100', '10 300 2', 'ten 300', '0 300', '']) {
      const e = errorOf(`${header}\nA 1 2\n`);
      expect(e.line).toBe(1);
      expect(e.message).toMatch(/^pairs file line 1: expected a header/);
    }
  });

  it('names the line where the file ends too early', () => {
    const short = GOOD.split('\n').slice(0, 8).join('\n'); // header + 7 of 8 pair lines
    const e = errorOf(short);
    expect(e.line).toBe(9);
    expect(e.message).toContain('file ends after 7 pair lines');
    expect(e.message).toContain('fold 2, mismatched pair 2 of 2');
    expect(e.message).toContain('= 8 pair lines');
  });

  it('names the first extra line when there are more pairs than the header says', () => {
    const e = errorOf(`${GOOD.trimEnd()}\nZed 1 2\n\n`);
    expect(e.line).toBe(10);
    expect(e.message).toMatch(/extra line "Zed 1 2"/);
  });

  it('catches a missing matched line where the mismatched lines start (wrong count per fold)', () => {
    // Fold 1 has only one matched line, so line 3 (a mismatched line) is read as the second matched one.
    const lines = GOOD.split('\n');
    lines.splice(2, 1);
    const e = errorOf(lines.join('\n'));
    expect(e.line).toBe(3);
    expect(e.message).toContain('expected "name i j" (fold 1, matched pair 2 of 2), got 4 field(s)');
  });

  it('names the line of a malformed pair', () => {
    const badIndex = GOOD.replace('Alan_Ball\t1\t2', 'Alan_Ball\t1\tx');
    expect(errorOf(badIndex).line).toBe(6);
    expect(errorOf(badIndex).message).toMatch(/^pairs file line 6: image number must be a positive integer.*"x"/);

    const zeroIndex = GOOD.replace('Albert_Costa\t4\t6', 'Albert_Costa\t0\t6');
    expect(errorOf(zeroIndex).line).toBe(7);

    const threeFields = GOOD.replace('Abel_Pacheco\t3\tJong_Thae_Hwa\t2', 'Abel_Pacheco\t3\t2');
    const e = errorOf(threeFields);
    expect(e.line).toBe(9);
    expect(e.message).toContain('expected "name1 i name2 j" (fold 2, mismatched pair 2 of 2), got 3 field(s)');

    const blank = GOOD.replace('Alan_Ball\t1\t2', '');
    expect(errorOf(blank).line).toBe(6);

    const samePerson = GOOD.replace('Dean_Barker', 'Abdel_Madi_Shabneh');
    expect(errorOf(samePerson).line).toBe(4);
    expect(errorOf(samePerson).message).toContain('same person twice');

    const traversal = GOOD.replace('Alan_Ball', '..');
    expect(errorOf(traversal).line).toBe(6);
  });
});
