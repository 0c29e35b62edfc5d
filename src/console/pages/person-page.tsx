import { useState } from 'preact/hooks';
import { apiFetch, apiJson, enc, sendJson, useApi } from '../api.js';
import type { Person, SightingsPage } from '../api-types.js';
import { formatDistance, formatTime } from '../format.js';
import { go, href } from '../router.js';
import { StatusLine } from '../status-line.js';
import { Thumb } from '../thumb.js';

/** One person: enrolled faces, sightings newest first, and the actions of the person routes. */
export function PersonPage(props: { personId: string }) {
  const { personId } = props;
  const [version, setVersion] = useState(0);
  const person = useApi<Person>(`/v1/persons/${enc(personId)}`, version);
  const sightings = useApi<SightingsPage>(`/v1/persons/${enc(personId)}/matches?limit=50`, version);
  const [message, setMessage] = useState<{ text: string; error?: boolean }>();
  const reload = () => setVersion((v) => v + 1);

  /** Runs an action, shows what it answered, reloads the person. */
  const act = async (what: string, action: () => Promise<unknown>, after?: () => void) => {
    setMessage({ text: `${what}...` });
    try {
      await action();
      setMessage({ text: `${what}: done` });
      if (after) after();
      else reload();
    } catch (err) {
      const code = (err as { code?: string }).code;
      setMessage({ text: `${what}: ${code ? `${code}: ` : ''}${(err as Error).message}`, error: true });
    }
  };

  const data = person.data;
  const enrolled = new Map((data?.enrolled ?? []).map((face) => [face.faceId, face]));
  return (
    <section>
      <p>
        <a href={href(['people'])}>People</a> /
      </p>
      <h1 data-testid="person-title">{data?.name ?? personId}</h1>
      {data?.name && data.name !== personId ? <p class="muted">{personId}</p> : null}
      <StatusLine loading={person.loading && !data} error={person.error} />
      {message ? (
        <p class={message.error ? 'error' : 'notice'} role="status" data-testid="action-status">
          {message.text}
        </p>
      ) : null}
      {data ? (
        <>
          <Actions personId={personId} name={data.name ?? personId} act={act} />
          <h2>Enrolled faces ({data.faces.length})</h2>
          <ul class="faces" data-testid="enrolled">
            {data.faces.map((faceId) => {
              const face = enrolled.get(faceId);
              return (
                <li key={faceId}>
                  <Thumb path={`/v1/faces/${enc(faceId)}/thumbnail?size=128`} size={128} alt={faceId} />
                  <code title={faceId}>{faceId.slice(0, 10)}</code>
                  {face ? (
                    <span class="muted" title={face.sourceKey}>
                      {face.sourceKey}
                      {face.quality
                        ? ` - ${Math.round(face.quality.size)} px, blur ${face.quality.blur.toFixed(2)}`
                        : ''}
                      {face.flags?.length ? ` - ${face.flags.join(', ')}` : ''}
                    </span>
                  ) : null}
                  <button
                    type="button"
                    class="small"
                    onClick={() =>
                      act(`remove face ${faceId.slice(0, 10)}`, () =>
                        apiFetch(`/v1/persons/${enc(personId)}/faces/${enc(faceId)}`, { method: 'DELETE' }),
                      )
                    }
                  >
                    remove
                  </button>
                </li>
              );
            })}
          </ul>
        </>
      ) : null}
      <h2>Sightings {sightings.data ? `(${sightings.data.total})` : ''}</h2>
      <StatusLine loading={sightings.loading && !sightings.data} error={sightings.error} />
      {sightings.data && sightings.data.items.length === 0 ? <p class="muted">never seen</p> : null}
      <ul class="sightings" data-testid="sightings">
        {sightings.data?.items.map((s) => (
          <li key={`${s.run}|${s.key}|${s.faceIndex}`} data-testid="sighting">
            <Thumb
              path={`/v1/runs/${enc(s.run)}/image?key=${enc(s.key)}&face=${s.faceIndex}&size=96`}
              size={96}
              alt={`${personId} in ${s.key}`}
            />
            <span>
              <a href={href(['runs', s.run], { key: s.key })}>{s.key}</a>
              <br />
              <span class="muted">
                {s.camera ? `camera ${s.camera} - ` : ''}
                {formatTime(s.seenAt)} - distance {formatDistance(s.distance)} - run {s.run}
              </span>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

type Act = (what: string, action: () => Promise<unknown>, after?: () => void) => Promise<void>;

function Actions(props: { personId: string; name: string; act: Act }) {
  const { personId, act } = props;
  const [name, setName] = useState(props.name);
  const [into, setInto] = useState('');
  const path = `/v1/persons/${enc(personId)}`;
  return (
    <div class="actions">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          act('rename', () => apiJson(path, sendJson('PATCH', { name: name.trim() })));
        }}
      >
        <input
          name="name"
          value={name}
          aria-label="display name"
          onInput={(event) => setName(event.currentTarget.value)}
        />
        <button type="submit" data-testid="rename">
          Rename
        </button>
      </form>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const input = event.currentTarget.elements.namedItem('photos') as HTMLInputElement;
          const files = [...(input.files ?? [])];
          if (files.length === 0) return;
          const body = new FormData();
          for (const file of files) body.append('file', file, file.name);
          act(`add ${files.length} photo(s)`, () => apiJson(`${path}/faces`, { method: 'POST', body }));
        }}
      >
        <input type="file" name="photos" accept="image/*" multiple aria-label="photos to add" />
        <button type="submit">Add photos</button>
      </form>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const target = into.trim();
          if (!target) return;
          act(
            `merge into ${target}`,
            () => apiJson(`${path}/merge`, sendJson('POST', { into: target })),
            () => go(['person', target]),
          );
        }}
      >
        <input
          name="into"
          value={into}
          placeholder="merge into person id"
          aria-label="person to merge into"
          onInput={(event) => setInto(event.currentTarget.value)}
        />
        <button type="submit">Merge</button>
      </form>
      <button
        type="button"
        class="danger"
        onClick={() => {
          if (!window.confirm(`Delete ${personId} and erase every face of theirs?`)) return;
          act(
            'delete',
            () => apiFetch(path, { method: 'DELETE' }),
            () => go(['people']),
          );
        }}
      >
        Delete person
      </button>
    </div>
  );
}
