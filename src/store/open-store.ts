// Turns the user's store URL into a Store: "s3://bucket/prefix" is a bucket, "file:///path" or a
// plain path is a folder, and no URL at all is the folder ./mongo-pitr-backups (created by check).
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { FolderStore, type FolderStoreOptions } from './folder-store.ts';
import { RetryingStore, type RetryingStoreOptions } from './retrying-store.ts';
import type { S3StoreOptions } from './s3-store.ts';
import type { Store } from './store.ts';

export const DEFAULT_STORE_URL = './mongo-pitr-backups';

export type OpenStoreOptions = S3StoreOptions & FolderStoreOptions & { readonly retry?: RetryingStoreOptions };

export type StoreLocation =
  | { readonly kind: 's3'; readonly bucket: string; /** Empty or ending with "/". */ readonly prefix: string }
  | { readonly kind: 'folder'; /** As given; relative paths are resolved against the working directory. */ readonly path: string };

const STORE_URL_FORMS = 'use s3://bucket/prefix, file:///absolute/path or a folder path';
// Two letters or more, so that a Windows drive ("C:\backups") reads as a path.
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]+):/;
const S3_URL = /^s3:\/\/([^/]*)(?:\/(.*))?$/i;
// S3's naming rules, loosened to the legacy us-east-1 ones (capitals, underscores, 255 characters).
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

/** Parses a store URL without touching the network or the disk; throws UsageError. */
export function parseStoreUrl(url: string): StoreLocation {
  if (url.trim() === '') throw new UsageError('the store URL is empty', { hint: STORE_URL_FORMS });
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'folder', path: url };
  if (scheme === 'file') return { kind: 'folder', path: folderPathOf(url) };
  if (scheme === 's3') return s3LocationOf(url);
  // Only the scheme is echoed: the rest of an unknown URL may hold a password.
  throw new UsageError(`unsupported store URL scheme "${scheme}:"`, { hint: STORE_URL_FORMS });
}

/** Opens the store named by `url` (the default folder when undefined); call `check()` before work. */
export async function openStore(url: string | undefined, options: OpenStoreOptions = {}): Promise<Store> {
  const location = parseStoreUrl(url ?? DEFAULT_STORE_URL);
  if (location.kind === 'folder') return new FolderStore(location.path, options);
  // Loaded only when asked for: the AWS SDK is most of the CLI's start-up time and memory.
  const { S3Store } = await import('./s3-store.ts');
  // A bucket is reached over a network: transient faults are retried under the seam. A folder
  // is not wrapped: a local disk's errors do not heal by asking again.
  return new RetryingStore(new S3Store(location, options), options.retry);
}

function folderPathOf(url: string): string {
  try {
    return fileURLToPath(url);
  } catch (error) {
    throw new UsageError(`store URL ${url} is not a local file URL`, { cause: error, hint: 'use file:///absolute/path (three slashes) or a plain path' });
  }
}

function s3LocationOf(url: string): StoreLocation {
  const match = S3_URL.exec(url);
  const bucket = match?.[1] ?? '';
  if (bucket.includes('@')) {
    throw new UsageError('the store URL must not contain credentials', { hint: 'pass them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use a profile or role' });
  }
  if (bucket === '') throw new UsageError(`store URL ${url} names no bucket`, { hint: 'use s3://bucket or s3://bucket/prefix' });
  if (!BUCKET_NAME.test(bucket)) throw new UsageError(`"${bucket}" in store URL ${url} is not a valid S3 bucket name`, { hint: 'bucket names are 3-63 lowercase letters, digits, dots and hyphens' });
  const path = match?.[2] ?? '';
  if (/[?#]/.test(path)) throw new UsageError(`store URL ${url} has a query or fragment`, { hint: 'give the region and endpoint as options, not in the URL' });
  // Slashes at either end are only punctuation: "s3://b/x/", "s3://b//x" and "s3://b/x" agree.
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  const segments = trimmed === '' ? [] : trimmed.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new UsageError(`store URL ${url} has an empty, "." or ".." segment in its prefix`, { hint: 'use s3://bucket/prefix/with/plain/segments' });
  }
  return { kind: 's3', bucket, prefix: segments.length > 0 ? `${segments.join('/')}/` : '' };
}
