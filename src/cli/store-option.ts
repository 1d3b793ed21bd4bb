// --store and --endpoint as typed: values that look right but would do something else are
// refused with one line naming the fix, before any store is opened.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { UsageError } from '../errors.ts';

/**
 * A store without a scheme is a folder only when it cannot be a bucket typed without `s3://`:
 * an absolute path, one starting with ./ or ../ (or ~, expanded by the shell), or a folder that
 * exists. `--store backups/prod` that exists nowhere would otherwise become a new local folder
 * while the user meant s3://backups/prod.
 */
export function checkStoreArgument(url: string, from: string): void {
  if (/^[A-Za-z][A-Za-z0-9+.-]+:/.test(url)) return; // s3://, file://: open-store.ts parses them
  if (isAbsolute(url) || /^\.\.?(\/|$)/.test(url) || url.startsWith('~')) return;
  if (existsSync(url) && statSync(url).isDirectory()) return;
  throw new UsageError(`${from} ${url}: not an existing folder, and a relative path here reads like a bucket`, {
    hint: `write s3://${url} for a bucket, or ./${url} for a new folder here`,
  });
}

/** The S3 endpoint must be a URL with its scheme: "127.0.0.1:9000" alone ends in "Invalid URL". */
export function checkEndpoint(endpoint: string, from: string): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(endpoint).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol === 'http:' || protocol === 'https:') return;
  throw new UsageError(`${from} ${endpoint}: not an http:// or https:// URL`, { hint: `e.g. http://${endpoint.replace(/^[a-z]+:\/\//i, '')}` });
}
