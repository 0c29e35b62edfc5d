import { useEffect, useState } from 'preact/hooks';
import { apiJson } from '../api.js';
import type { IdentifyAnswer } from '../api-types.js';
import { CandidateList } from '../candidate-list.js';
import { FaceOverlay } from '../face-overlay.js';
import { formatDistance } from '../format.js';
import { StatusLine } from '../status-line.js';

/** Drop a photo: every face boxed, with its candidates and the decision (POST /v1/identify). */
export function SearchPage() {
  const [file, setFile] = useState<File>();
  const [url, setUrl] = useState<string>();
  const [answer, setAnswer] = useState<IdentifyAnswer>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<number>();

  useEffect(() => {
    if (!file) return;
    const objectUrl = URL.createObjectURL(file);
    setUrl(objectUrl);
    setAnswer(undefined);
    setError(undefined);
    setSelected(undefined);
    setBusy(true);
    apiJson<IdentifyAnswer>(`/v1/identify?k=5&name=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      headers: { 'content-type': file.type || 'application/octet-stream' },
      body: file,
    })
      .then(setAnswer, setError)
      .finally(() => setBusy(false));
    return () => URL.revokeObjectURL(objectUrl);
  }, [file]);

  return (
    <section>
      <h1>Search</h1>
      <label
        class="drop"
        onDragOver={(event) => event.preventDefault()}
        onDrop={(event) => {
          event.preventDefault();
          const dropped = event.dataTransfer?.files[0];
          if (dropped) setFile(dropped);
        }}
      >
        Drop a photo here, or choose one
        <input
          type="file"
          accept="image/*"
          name="photo"
          onChange={(event) => {
            const chosen = event.currentTarget.files?.[0];
            if (chosen) setFile(chosen);
          }}
        />
      </label>
      <StatusLine loading={busy} error={error} />
      {answer && url ? (
        <div class="search-result">
          <FaceOverlay
            path={null}
            src={url}
            width={answer.width}
            height={answer.height}
            selected={selected}
            onSelect={setSelected}
            faces={answer.faces.map((f) => ({
              box: f.box,
              label: f.personId ?? 'unknown',
              kind: f.personId === null ? 'unknown' : 'named',
            }))}
          />
          <p class="muted" data-testid="search-summary">
            {answer.faces.length} face{answer.faces.length === 1 ? '' : 's'}, threshold {answer.threshold.toFixed(3)}
          </p>
          <ol class="search-faces">
            {answer.faces.map((face, i) => (
              <li key={i} class={selected === i ? 'selected' : ''}>
                <button type="button" class="link" onClick={() => setSelected(i)}>
                  face {i + 1}
                </button>
                : <strong>{face.personId ?? 'unknown'}</strong>{' '}
                <span class="muted">
                  (score {formatDistance(face.decision.score)} vs {face.decision.threshold.toFixed(3)})
                </span>
                <CandidateList matches={face.matches} />
              </li>
            ))}
          </ol>
        </div>
      ) : null}
    </section>
  );
}
