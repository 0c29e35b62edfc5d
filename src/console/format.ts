/** `2026-11-28 02:15` in the browser's zone; '' for nothing. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function formatDistance(distance: number | null | undefined): string {
  return distance === null || distance === undefined ? '-' : distance.toFixed(3);
}
