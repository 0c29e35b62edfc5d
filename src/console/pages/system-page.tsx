import { useEffect, useState } from 'preact/hooks';
import { useApi } from '../api.js';
import type { IndexStatus } from '../api-types.js';
import { StatusLine } from '../status-line.js';

/** Gauges of GET /metrics the status does not carry (the service computes them from Redis and storage). */
const GAUGES = {
  changeLogLag: 'facepipe_change_log_lag_seconds',
  snapshotAge: 'facepipe_last_snapshot_age_seconds',
};

/** The index's status, the change log's lag, the snapshot's age, and the operator's other pages. */
export function SystemPage() {
  const { data, error, loading } = useApi<IndexStatus>('/v1/index');
  const [gauges, setGauges] = useState<Record<string, number | undefined>>({});
  useEffect(() => {
    // Public and plain text: fetched without the key.
    fetch('/metrics')
      .then((r) => (r.ok ? r.text() : ''))
      .then((text) => {
        const value = (name: string) => {
          const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
          return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
        };
        setGauges({ changeLogLag: value(GAUGES.changeLogLag), snapshotAge: value(GAUGES.snapshotAge) });
      })
      .catch(() => setGauges({}));
  }, []);
  const seconds = (value: number | undefined) =>
    value === undefined || Number.isNaN(value) ? '-' : `${value.toFixed(1)} s`;
  return (
    <section>
      <h1>System</h1>
      <StatusLine loading={loading && !data} error={error} />
      {data ? (
        <table class="status" data-testid="index-status">
          <tbody>
            <Row name="ready" value={data.ready ? 'yes' : 'no'} />
            <Row name="faces" value={data.faces} />
            <Row name="persons" value={data.persons} />
            <Row name="model" value={data.model} />
            <Row name="loaded from" value={data.loadedFrom} />
            <Row name="last snapshot" value={data.lastSnapshot ?? '-'} />
            <Row name="snapshot age" value={seconds(gauges.snapshotAge)} />
            <Row name="change-log position" value={data.changePosition} />
            <Row name="change-log lag" value={seconds(gauges.changeLogLag)} />
            <Row name="HNSW" value={`M ${data.m}, efConstruction ${data.efConstruction}, ef ${data.ef}`} />
            <Row name="rebuild" value={data.rebuild.state} />
            <Row name="erasure pending" value={data.erasure?.pending ? 'yes' : 'no'} />
            <Row name="quarantined objects" value={data.quarantined ?? 0} />
            {data.error ? <Row name="error" value={data.error} /> : null}
          </tbody>
        </table>
      ) : null}
      <h2>Elsewhere</h2>
      <ul>
        <li>
          <a href="/queues">Queue dashboard</a> (admin key)
        </li>
        <li>
          <a href="/metrics">Prometheus metrics</a>
        </li>
        <li>
          <a href="/docs">API docs</a> (<a href="/openapi.json">OpenAPI document</a>)
        </li>
      </ul>
    </section>
  );
}

function Row(props: { name: string; value: string | number }) {
  return (
    <tr>
      <th>{props.name}</th>
      <td>{props.value}</td>
    </tr>
  );
}
