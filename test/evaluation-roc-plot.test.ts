import { describe, expect, it } from 'vitest';
import { rocSvg } from '../src/evaluation/roc-plot.js';
import type { RocPoint } from '../src/evaluation/types.js';
import { rocCurve } from '../src/evaluation/verification-metrics.js';

const TAG = /<(\/?)([a-zA-Z]+)(?:\s+[\w:-]+="[^"<]*")*\s*(\/?)>/g;

/** Minimal well-formedness check: tags with quoted attributes, closed in order, escaped text. */
function expectWellFormed(svg: string): void {
  const stack: string[] = [];
  for (const [, close, name, selfClose] of svg.matchAll(TAG)) {
    if (selfClose) continue;
    if (close) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
  // Nothing outside tags may look like markup: a stray < or an unescaped & would break parsers.
  const text = svg.replace(TAG, '');
  expect(text).not.toMatch(/[<>]/);
  expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
}

function polylinePoints(svg: string): [number, number][][] {
  return [...svg.matchAll(/<polyline[^>]* points="([^"]*)"/g)].map(([, pts]) =>
    pts.split(' ').map((xy) => xy.split(',').map(Number) as [number, number]),
  );
}

const pt = (far: number, tar: number): RocPoint => ({ far, tar, threshold: 0 });

describe('rocSvg', () => {
  it('is a well-formed SVG with a polyline and a legend entry per curve', () => {
    const a = rocCurve([
      { score: 0.1, same: true },
      { score: 0.3, same: true },
      { score: 0.2, same: false },
      { score: 0.9, same: false },
    ]);
    const svg = rocSvg(
      [
        { label: 'facenet <512-d> & align', points: a },
        { label: 'mobilefacenet', points: [pt(0, 0), pt(0.001, 0.4), pt(1, 1)] },
      ],
      { title: 'LFW View 2' },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expectWellFormed(svg);
    expect(polylinePoints(svg)).toHaveLength(2);
    expect(svg).toContain('>facenet &lt;512-d&gt; &amp; align</text>');
    expect(svg).toContain('>mobilefacenet</text>');
    expect(svg).toContain('>LFW View 2</text>');
    for (const label of ['0.0001', '0.001', '0.01', '0.1', '1']) expect(svg).toContain(`>${label}</text>`);
  });

  it('puts FAR on a log scale from 1e-4 to 1 and TAR linear from 0 to 1', () => {
    const svg = rocSvg([{ label: 'c', points: [pt(1e-4, 0), pt(1e-2, 0.8), pt(1, 1)] }]);
    const [[p0, p1, p2]] = polylinePoints(svg);
    expect(p1[0] - p0[0]).toBeCloseTo(p2[0] - p1[0], 0); // equal decades, equal widths
    expect(p2[0] - p0[0]).toBeGreaterThan(400);
    expect(p0[1] - p1[1]).toBeCloseTo(0.8 * (p0[1] - p2[1]), 0); // TAR linear
    expect(svg).toContain('>0.0</text>');
    expect(svg).toContain('>0.5</text>');
    expect(svg).not.toContain('>0.80</text>');
    // The y of TAR = 0 and 1 coincide with the bottom and top grid lines.
    expect(svg).toContain(`y1="${p0[1]}" x2=`);
    expect(svg).toContain(`y1="${p2[1]}" x2=`);
  });

  it('drops repeated points and the middle of straight runs', () => {
    const steps = [pt(1e-3, 0.1), pt(1e-3, 0.2), pt(1e-3, 0.3), pt(1e-2, 0.3), pt(1e-2, 0.3), pt(1e-1, 0.3), pt(1, 1)];
    const [line] = polylinePoints(rocSvg([{ label: 'c', points: steps }]));
    expect(line).toHaveLength(4); // (1e-3, 0.1) (1e-3, 0.3) (1e-1, 0.3) (1, 1)
    expect(line[0][0]).toBe(line[1][0]);
    expect(line[1][1]).toBe(line[2][1]);
  });

  it('folds FAR below 1e-4 into the left edge at the best TAR reached there', () => {
    const svg = rocSvg([{ label: 'c', points: [pt(0, 0), pt(0, 0.3), pt(5e-5, 0.6), pt(1e-2, 0.7), pt(1, 1)] }]);
    const [line] = polylinePoints(svg);
    expect(line).toHaveLength(3);
    const [left, mid, right] = line;
    expect(mid[0] - left[0]).toBeCloseTo((right[0] - left[0]) / 2, 0);
    // left is TAR 0.6 (the best with FAR <= 1e-4), right TAR 1, so 0.4 of the axis lies between them.
    const height = (left[1] - right[1]) / 0.4;
    expect(mid[1]).toBeCloseTo(right[1] + 0.3 * height, 0);
  });

  it('zooms TAR to 0.8..1 when every curve is above 0.8 from FAR = 1e-4', () => {
    const good = [pt(0, 0), pt(1e-5, 0.85), pt(1e-3, 0.9), pt(1, 1)];
    const svg = rocSvg([
      { label: 'a', points: good },
      { label: 'b', points: [pt(0, 0), pt(1e-4, 0.8), pt(1, 1)] },
    ]);
    for (const label of ['0.80', '0.85', '0.90', '0.95', '1.00']) expect(svg).toContain(`>${label}</text>`);
    expect(svg).not.toContain('>0.5</text>');
    const [a, b] = polylinePoints(svg);
    // a: 0.85 and 0.9 sit a quarter and half way up the 0.8..1 axis; b starts on the bottom line.
    const bottom = b[0][1];
    const top = b[1][1];
    expect(a[0][1]).toBeCloseTo(bottom - 0.25 * (bottom - top), 0);
    expect(a[1][1]).toBeCloseTo(bottom - 0.5 * (bottom - top), 0);

    const mixed = rocSvg([
      { label: 'a', points: good },
      { label: 'weak', points: [pt(0, 0), pt(1e-3, 0.5), pt(1, 1)] },
    ]);
    expect(mixed).toContain('>0.5</text>');
    expect(mixed).not.toContain('>0.80</text>');
  });

  it('still draws axes for no curves', () => {
    const svg = rocSvg([]);
    expectWellFormed(svg);
    expect(polylinePoints(svg)).toHaveLength(0);
    expect(svg).toContain('>True accept rate</text>');
  });
});
