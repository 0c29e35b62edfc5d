import { useState } from 'preact/hooks';
import { enc, useApi } from '../api.js';
import type { PersonsPage } from '../api-types.js';
import { formatTime } from '../format.js';
import { go, href, type Route } from '../router.js';
import { StatusLine } from '../status-line.js';
import { Thumb } from '../thumb.js';

export const PEOPLE_PAGE_SIZE = 50;

/** Every enrolled person: thumbnail, name, faces, last seen; search by id or name; pages of 50. */
export function PeoplePage(props: { route: Route }) {
  const search = props.route.query.get('search') ?? '';
  const offset = Number(props.route.query.get('offset') ?? 0) || 0;
  const [typed, setTyped] = useState(search);
  const query = `limit=${PEOPLE_PAGE_SIZE}&offset=${offset}${search ? `&search=${enc(search)}` : ''}`;
  const { data, error, loading } = useApi<PersonsPage>(`/v1/persons?${query}`);
  const total = data ? (data.total ?? data.persons) : 0;
  return (
    <section>
      <h1>People</h1>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          go(['people'], { search: typed.trim() });
        }}
      >
        <input
          type="search"
          name="search"
          placeholder="person id or name"
          value={typed}
          onInput={(event) => setTyped(event.currentTarget.value)}
        />
        <button type="submit">Search</button>
        {data ? (
          <span class="muted" data-testid="people-total">
            {total} persons, {data.faces} faces
          </span>
        ) : null}
      </form>
      <StatusLine loading={loading && !data} error={error} />
      {data ? (
        <ul class="people" data-testid="people">
          {data.items.map((person) => (
            <li key={person.personId} data-person={person.personId}>
              <a href={href(['person', person.personId])}>
                <Thumb
                  path={`/v1/persons/${enc(person.personId)}/thumbnail?size=96`}
                  size={96}
                  alt={person.name ?? person.personId}
                  testId="person-thumb"
                />
                <span class="name" data-testid="person-name">
                  {person.name ?? person.personId}
                </span>
              </a>
              <span class="muted">{person.name && person.name !== person.personId ? person.personId : ''}</span>
              <span>
                {person.faces} face{person.faces === 1 ? '' : 's'}
              </span>
              <span class="muted">{person.lastSeen ? `seen ${formatTime(person.lastSeen)}` : 'not seen'}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {data ? <Pager offset={offset} count={data.items.length} total={total} search={search} /> : null}
    </section>
  );
}

function Pager(props: { offset: number; count: number; total: number; search: string }) {
  const { offset, count, total, search } = props;
  const page = Math.floor(offset / PEOPLE_PAGE_SIZE) + 1;
  const pages = Math.max(1, Math.ceil(total / PEOPLE_PAGE_SIZE));
  return (
    <nav class="pager">
      {offset > 0 ? (
        <a href={href(['people'], { search, offset: Math.max(0, offset - PEOPLE_PAGE_SIZE) || undefined })}>previous</a>
      ) : (
        <span class="muted">previous</span>
      )}
      <span>
        page {page} of {pages}
      </span>
      {offset + count < total ? (
        <a href={href(['people'], { search, offset: offset + PEOPLE_PAGE_SIZE })} data-testid="next-page">
          next
        </a>
      ) : (
        <span class="muted">next</span>
      )}
    </nav>
  );
}
