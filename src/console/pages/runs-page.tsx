import { useApi } from '../api.js';
import type { RunSummary } from '../api-types.js';
import { formatTime } from '../format.js';
import { href } from '../router.js';
import { StatusLine } from '../status-line.js';

/** Identify runs, newest first, with their counts. */
export function RunsPage() {
  const { data, error, loading } = useApi<{ total: number; items: RunSummary[] }>('/v1/runs?limit=100');
  return (
    <section>
      <h1>Runs</h1>
      <StatusLine loading={loading && !data} error={error} />
      {data && data.items.length === 0 ? <p class="muted">no identify run yet</p> : null}
      {data && data.items.length > 0 ? (
        <table data-testid="runs">
          <thead>
            <tr>
              <th>run</th>
              <th>started</th>
              <th>snapshots</th>
              <th>faces</th>
              <th>named</th>
              <th>unknown</th>
              <th>errors</th>
              <th>source</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((run) => (
              <tr key={run.run}>
                <td>
                  <a href={href(['runs', run.run])}>{run.run}</a>
                </td>
                <td>
                  {formatTime(run.createdAt)}
                  {run.completedAt ? '' : ' (open)'}
                </td>
                <td>
                  {run.counts.results} / {run.snapshots}
                </td>
                <td>{run.counts.faces}</td>
                <td>{run.counts.named}</td>
                <td>{run.counts.unknown}</td>
                <td>{run.counts.errors}</td>
                <td class="muted">{run.source}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
