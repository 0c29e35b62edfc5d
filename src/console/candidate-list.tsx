import { formatDistance } from './format.js';
import { href } from './router.js';

/** A face's candidates, nearest first: each a link to the person and its distance. */
export function CandidateList({ matches }: { matches: readonly { personId: string; distance: number }[] }) {
  return (
    <ol>
      {matches.map((m) => (
        <li key={m.personId}>
          <a href={href(['person', m.personId])}>{m.personId}</a> {formatDistance(m.distance)}
        </li>
      ))}
    </ol>
  );
}
