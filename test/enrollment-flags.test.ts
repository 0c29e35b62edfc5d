/** Enrollment photos that look like junk are flagged (issue 22), on detections the test makes. */
import { describe, expect, it } from 'vitest';
import { enrollmentFlags } from '../src/identification/enrollment-flags.js';

const clean = { score: 0.97, quality: { size: 120, blur: 0.2, pose: 0.1 }, facesDetected: 1 };

describe('enrollmentFlags', () => {
  it('flags nothing on a clean portrait', () => {
    expect(enrollmentFlags(clean)).toEqual([]);
  });

  it('flags a low detector score, an extreme pose, a blurred face and a photo of several faces', () => {
    expect(enrollmentFlags({ ...clean, score: 0.42 })).toEqual(['low-detector-score']);
    expect(enrollmentFlags({ ...clean, quality: { ...clean.quality, pose: 0.9 } })).toEqual(['extreme-pose']);
    expect(enrollmentFlags({ ...clean, quality: { ...clean.quality, blur: 0.75 } })).toEqual(['blurred']);
    expect(enrollmentFlags({ ...clean, facesDetected: 2 })).toEqual(['several-faces']);
    expect(enrollmentFlags({ score: 0.35, quality: { size: 40, blur: 0.8, pose: 0.95 }, facesDetected: 3 })).toEqual([
      'low-detector-score',
      'extreme-pose',
      'blurred',
      'several-faces',
    ]);
  });

  it('does not flag pose or blur when the quality is unknown', () => {
    expect(enrollmentFlags({ score: 0.9, facesDetected: 1 })).toEqual([]);
  });
});
