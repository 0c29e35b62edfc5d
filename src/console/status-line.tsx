/** What a page shows while loading, or the error an API call answered. */
export function StatusLine(props: { loading?: boolean; error?: Error }) {
  if (props.error) {
    const code = (props.error as { code?: string }).code;
    return (
      <p class="error" role="alert">
        {code ? `${code}: ` : ''}
        {props.error.message}
      </p>
    );
  }
  return props.loading ? <p class="muted">loading...</p> : null;
}
