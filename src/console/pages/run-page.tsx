import { useState } from 'preact/hooks';
import { enc, useApi } from '../api.js';
import type { RunFilter, RunPage as RunAnswer, RunSnapshot } from '../api-types.js';
import { CandidateList } from '../candidate-list.js';
import { FaceOverlay } from '../face-overlay.js';
import { formatDistance, formatTime } from '../format.js';
import { href, type Route } from '../router.js';
import { StatusLine } from '../status-line.js';

const FILTERS: RunFilter[] = ['all', 'named', 'unknown', 'errors'];
const RUN_PAGE_SIZE = 24;

/** A run's snapshots as a grid, faces boxed and named; a face's candidates on click. */
export function RunPage(props: { run: string; route: Route }) {
  const { run, route } = props;
  const filter = (FILTERS as string[]).includes(route.query.get('filter') ?? '')
    ? (route.query.get('filter') as RunFilter)
    : 'all';
  const offset = Number(route.query.get('offset') ?? 0) || 0;
  const only = route.query.get('key');
  const { data, error, loading } = useApi<RunAnswer>(
    `/v1/runs/${enc(run)}?filter=${filter}&limit=${only ? 500 : RUN_PAGE_SIZE}&offset=${only ? 0 : offset}`,
  );
  const items = only ? data?.items.filter((s) => s.key === only) : data?.items;
  return (
    <section>
      <p>
        <a href={href(['runs'])}>Runs</a> /
      </p>
      <h1>{run}</h1>
      {data ? (
        <p class="muted" data-testid="run-counts">
          {formatTime(data.createdAt)} - {data.counts.results} of {data.snapshots} snapshots, {data.counts.faces} faces:{' '}
          {data.counts.named} named, {data.counts.unknown} unknown, {data.counts.errors} errors - {data.source}
        </p>
      ) : null}
      <nav class="toolbar" aria-label="filter">
        {FILTERS.map((f) => (
          <a key={f} class={f === filter && !only ? 'chip active' : 'chip'} href={href(['runs', run], { filter: f })}>
            {f}
          </a>
        ))}
        {only ? <span class="chip active">{only}</span> : null}
      </nav>
      <StatusLine loading={loading && !data} error={error} />
      <div class="grid" data-testid="snapshots">
        {items?.map((snapshot) => (
          <SnapshotCard key={snapshot.key} run={run} snapshot={snapshot} />
        ))}
      </div>
      {data && !only && data.total > RUN_PAGE_SIZE ? (
        <nav class="pager">
          {offset > 0 ? (
            <a href={href(['runs', run], { filter, offset: Math.max(0, offset - RUN_PAGE_SIZE) || undefined })}>
              previous
            </a>
          ) : null}
          <span>
            {offset + 1}-{Math.min(data.total, offset + RUN_PAGE_SIZE)} of {data.total}
          </span>
          {offset + RUN_PAGE_SIZE < data.total ? (
            <a href={href(['runs', run], { filter, offset: offset + RUN_PAGE_SIZE })}>next</a>
          ) : null}
        </nav>
      ) : null}
    </section>
  );
}

function SnapshotCard(props: { run: string; snapshot: RunSnapshot }) {
  const { run, snapshot } = props;
  const [selected, setSelected] = useState<number>();
  const face = selected === undefined ? undefined : snapshot.faces[selected];
  const width = snapshot.width || 1280;
  const height = snapshot.height || 720;
  return (
    <figure class="snapshot" data-snapshot={snapshot.key}>
      {snapshot.error ? (
        <p class="error">
          {snapshot.error.code}: {snapshot.error.message}
        </p>
      ) : null}
      <FaceOverlay
        path={snapshot.error ? null : `/v1/runs/${enc(run)}/image?key=${enc(snapshot.key)}&size=960`}
        width={width}
        height={height}
        selected={selected}
        onSelect={setSelected}
        faces={snapshot.faces.map((f) => ({
          box: f.box,
          label: f.personId ?? 'unknown',
          kind: f.personId === null ? 'unknown' : 'named',
        }))}
      />
      <figcaption>
        <span>{snapshot.key}</span>{' '}
        <span class="muted">
          {formatTime(snapshot.captured)} - {snapshot.faces.length} face{snapshot.faces.length === 1 ? '' : 's'}
        </span>
      </figcaption>
      {face ? (
        <div class="candidates" data-testid="candidates">
          <strong>{face.personId ?? 'unknown'}</strong>
          {face.outcome ? <span class="muted"> ({face.outcome})</span> : null}
          {face.decision ? (
            <span class="muted">
              {' '}
              score {formatDistance(face.decision.score)} vs threshold {face.decision.threshold.toFixed(3)}
            </span>
          ) : null}
          <CandidateList matches={face.matches} />
        </div>
      ) : null}
    </figure>
  );
}
