import type { RocCurve, RocPoint } from './types.js';

export interface RocSvgOptions {
  title?: string;
}

const WIDTH = 640;
const HEIGHT = 460;
const PLOT = { left: 64, right: 616, top: 44, bottom: 396 };
const FAR_MIN = 1e-4;
const DECADES = 4; // 1e-4 .. 1
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/**
 * A self-contained SVG of ROC curves: log-scale FAR from 1e-4 to 1, linear TAR from 0 to 1, or
 * from 0.8 to 1 when every curve is already at TAR >= 0.8 at FAR = 1e-4. Points with FAR below
 * 1e-4 are folded into the left edge at the best TAR they reach.
 */
export function rocSvg(curves: readonly RocCurve[], options: RocSvgOptions = {}): string {
  const title = options.title ?? 'ROC: true accept rate vs false accept rate';
  const visible = curves.map((c) => visiblePoints(c.points));
  const drawn = visible.filter((pts) => pts.length > 0);
  const yMin = drawn.length > 0 && drawn.every((pts) => pts[0].tar >= 0.8) ? 0.8 : 0;

  const x = (far: number): number =>
    PLOT.left + ((Math.log10(clamp(far, FAR_MIN, 1)) + DECADES) / DECADES) * (PLOT.right - PLOT.left);
  const y = (tar: number): number =>
    PLOT.bottom - ((clamp(tar, yMin, 1) - yMin) / (1 - yMin)) * (PLOT.bottom - PLOT.top);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];

  // Grid and ticks: a labelled line per decade, faint lines at 2..9 x each decade.
  for (let d = 0; d <= DECADES; d++) {
    const far = 10 ** (d - DECADES);
    const px = num(x(far));
    out.push(`<line x1="${px}" y1="${PLOT.top}" x2="${px}" y2="${PLOT.bottom}" stroke="#ccc"/>`);
    out.push(`<text x="${px}" y="${PLOT.bottom + 18}" text-anchor="middle">${farLabel(d - DECADES)}</text>`);
    if (d < DECADES) {
      for (let m = 2; m <= 9; m++) {
        const mx = num(x(m * far));
        out.push(`<line x1="${mx}" y1="${PLOT.top}" x2="${mx}" y2="${PLOT.bottom}" stroke="#eee"/>`);
      }
    }
  }
  const yStep = yMin === 0.8 ? 0.05 : 0.1;
  const yTicks = Math.round((1 - yMin) / yStep);
  for (let i = 0; i <= yTicks; i++) {
    const tar = yMin + i * yStep;
    const py = y(tar);
    out.push(`<line x1="${PLOT.left}" y1="${num(py)}" x2="${PLOT.right}" y2="${num(py)}" stroke="#ccc"/>`);
    out.push(
      `<text x="${PLOT.left - 8}" y="${num(py + 4)}" text-anchor="end">${tar.toFixed(yMin === 0.8 ? 2 : 1)}</text>`,
    );
  }
  out.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 20}" text-anchor="middle">False accept rate (log scale)</text>`,
    `<text transform="translate(18 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">True accept rate</text>`,
  );

  visible.forEach((pts, i) => {
    if (pts.length === 0) return;
    const coords = simplify(pts.map((p) => [round(x(p.far)), round(y(p.tar))]));
    const list = coords.map(([px, py]) => `${px},${py}`).join(' ');
    out.push(`<polyline fill="none" stroke="${color(i)}" stroke-width="2" points="${list}"/>`);
  });

  // Legend in the bottom-right corner, which ROC curves leave empty.
  if (curves.length > 0) {
    const rowHeight = 18;
    const width = 44 + 7 * Math.max(...curves.map((c) => c.label.length));
    const height = 8 + rowHeight * curves.length;
    const left = PLOT.right - 10 - width;
    const top = PLOT.bottom - 10 - height;
    out.push(`<g><rect x="${left}" y="${top}" width="${width}" height="${height}" fill="#fff" stroke="#999"/>`);
    curves.forEach((c, i) => {
      const cy = top + 4 + rowHeight * i + rowHeight / 2;
      out.push(
        `<line x1="${left + 8}" y1="${cy}" x2="${left + 32}" y2="${cy}" stroke="${color(i)}" stroke-width="2"/>`,
        `<text x="${left + 38}" y="${cy + 4}">${escapeXml(c.label)}</text>`,
      );
    });
    out.push('</g>');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Points from FAR = 1e-4 on, sorted, starting at the best TAR reachable with FAR <= 1e-4. */
function visiblePoints(points: readonly RocPoint[]): { far: number; tar: number }[] {
  const sorted = points
    .filter((p) => Number.isFinite(p.far) && Number.isFinite(p.tar))
    .sort((p, q) => p.far - q.far || p.tar - q.tar);
  const hidden = sorted.filter((p) => p.far <= FAR_MIN);
  const shown = sorted.filter((p) => p.far > FAR_MIN);
  if (hidden.length === 0) return shown;
  return [{ far: FAR_MIN, tar: Math.max(...hidden.map((p) => p.tar)) }, ...shown];
}

function farLabel(exponent: number): string {
  return exponent === 0 ? '1' : `0.${'0'.repeat(-exponent - 1)}1`;
}

function color(i: number): string {
  return PALETTE[i % PALETTE.length];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Pixel coordinates are rounded to 0.1 px to keep the file small. */
function round(v: number): number {
  return Math.round(v * 10) / 10;
}

function num(v: number): string {
  return String(round(v));
}

/** Drops repeated points and middle points of straight runs (the ROC's many vertical and horizontal steps). */
function simplify(points: readonly [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last && last[0] === p[0] && last[1] === p[1]) continue;
    const prev = out[out.length - 2];
    if (prev && last) {
      const cross = (last[0] - prev[0]) * (p[1] - last[1]) - (last[1] - prev[1]) * (p[0] - last[0]);
      const dot = (last[0] - prev[0]) * (p[0] - last[0]) + (last[1] - prev[1]) * (p[1] - last[1]);
      if (Math.abs(cross) < 1e-9 && dot > 0) out.pop();
    }
    out.push(p);
  }
  return out;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[ch]};`);
}
