/** `s3://bucket/some/prefix` -> { bucket: 'bucket', prefix: 'some/prefix/' }; prefix is '' or ends with '/'. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
  if (!match) throw new Error(`not an S3 URL (expected s3://bucket/prefix): ${url}`);
  const bucket = match[1];
  let prefix = (match[2] ?? '').replace(/^\/+/, '');
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  return { bucket, prefix };
}
