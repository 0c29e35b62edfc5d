import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized, storedKey, storeKey } from './api.js';
import { PeoplePage } from './pages/people-page.js';
import { PersonPage } from './pages/person-page.js';
import { RunPage } from './pages/run-page.js';
import { RunsPage } from './pages/runs-page.js';
import { SearchPage } from './pages/search-page.js';
import { SystemPage } from './pages/system-page.js';
import { href, useRoute } from './router.js';

const SECTIONS = [
  ['people', 'People'],
  ['runs', 'Runs'],
  ['search', 'Search'],
  ['system', 'System'],
] as const;

/** The console: asks for the API key once per browser session, then the page the hash names. */
export function App() {
  const [key, setKey] = useState(storedKey());
  const [refused, setRefused] = useState(false);
  const route = useRoute();
  useEffect(
    () =>
      onUnauthorized(() => {
        storeKey(null);
        setKey(null);
        setRefused(true);
      }),
    [],
  );
  if (key === null) {
    return (
      <KeyForm
        refused={refused}
        onKey={(given) => {
          storeKey(given);
          setRefused(false);
          setKey(given);
        }}
      />
    );
  }
  const [section = 'people', id] = route.parts;
  return (
    <>
      <header>
        <strong>facepipe</strong>
        <nav>
          {SECTIONS.map(([name, label]) => (
            <a
              key={name}
              href={href([name])}
              class={section === name || (section === 'person' && name === 'people') ? 'active' : ''}
            >
              {label}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="link"
          onClick={() => {
            storeKey(null);
            setKey(null);
          }}
        >
          forget key
        </button>
      </header>
      <main>
        <Page section={section} id={id} route={route} />
      </main>
    </>
  );
}

function Page(props: { section: string; id?: string; route: ReturnType<typeof useRoute> }) {
  const { section, id, route } = props;
  if (section === 'person' && id) return <PersonPage key={id} personId={id} />;
  if (section === 'runs' && id) return <RunPage key={id} run={id} route={route} />;
  if (section === 'runs') return <RunsPage />;
  if (section === 'search') return <SearchPage />;
  if (section === 'system') return <SystemPage />;
  if (section === 'people') return <PeoplePage route={route} />;
  return (
    <section>
      <h1>No such page</h1>
      <p>
        <a href={href(['people'])}>People</a>
      </p>
    </section>
  );
}

function KeyForm(props: { refused: boolean; onKey: (key: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main class="login">
      <h1>facepipe console</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          props.onKey(value.trim());
        }}
      >
        <label>
          API key
          <input
            type="password"
            name="apiKey"
            autocomplete="off"
            value={value}
            onInput={(event) => setValue(event.currentTarget.value)}
          />
        </label>
        <button type="submit">Open</button>
      </form>
      {props.refused ? (
        <p class="error" role="alert">
          The service refused the key: give one with the read role (admin for changes).
        </p>
      ) : null}
      <p class="muted">
        Kept for this browser tab only (sessionStorage). A service on loopback without keys takes an empty key.
      </p>
    </main>
  );
}
