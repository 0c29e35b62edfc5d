import type { ComponentChildren } from 'preact';
import { useImage } from './api.js';
import type { Box } from './api-types.js';

export interface OverlayFace {
  box: Box;
  label: string;
  kind: 'named' | 'unknown';
}

/**
 * An image with its faces boxed and labelled: an SVG over the image, in the image's own pixel
 * coordinates (viewBox = its full width and height), so the boxes fit whatever size it is shown at.
 */
export function FaceOverlay(props: {
  path: string | null;
  /** Or an object URL the page holds already (the search upload). */
  src?: string;
  width: number;
  height: number;
  faces: OverlayFace[];
  selected?: number;
  onSelect?: (face: number) => void;
  children?: ComponentChildren;
}) {
  const loaded = useImage(props.src ? null : props.path);
  const src = props.src ?? loaded.url;
  const stroke = Math.max(2, Math.round(props.width / 400));
  const fontSize = Math.max(14, Math.round(props.width / 50));
  return (
    <div class="overlay" style={{ aspectRatio: `${props.width} / ${props.height}` }}>
      {src ? <img src={src} alt="" /> : <span class={loaded.failed ? 'placeholder missing' : 'placeholder'} />}
      <svg
        viewBox={`0 0 ${props.width} ${props.height}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${props.faces.length} faces`}
      >
        {props.faces.map((face, i) => (
          // biome-ignore lint/a11y/noStaticElementInteractions: an SVG group has no button role; the candidates list below is the keyboard path
          <g
            key={i}
            class={`face ${face.kind}${props.selected === i ? ' selected' : ''}`}
            data-face={i}
            onClick={() => props.onSelect?.(i)}
          >
            <rect x={face.box.x} y={face.box.y} width={face.box.width} height={face.box.height} stroke-width={stroke} />
            <text x={face.box.x} y={Math.max(fontSize, face.box.y - stroke * 2)} font-size={fontSize}>
              {face.label}
            </text>
          </g>
        ))}
      </svg>
      {props.children}
    </div>
  );
}
