import { useImage } from './api.js';

/** An image of the API (thumbnail, crop), fetched with the key; a grey square until it arrives. */
export function Thumb(props: { path: string | null; size: number; alt: string; testId?: string }) {
  const { url, failed } = useImage(props.path);
  const style = { width: `${props.size}px`, height: `${props.size}px` };
  if (!url) return <span class={failed ? 'thumb missing' : 'thumb'} style={style} title={failed ? 'no image' : ''} />;
  return <img class="thumb" src={url} alt={props.alt} style={style} data-testid={props.testId} />;
}
