// Tells a store failure worth retrying (the store or the network hiccuped) from one that will
// fail the same way again (missing key, denied, lost race, bad credentials). Looks at what the
// AWS SDK, Node's HTTP client and the folder store throw, following `cause` links, since a
// StoreError wraps the SDK's error.
//   Throttling and transient codes: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
//   (SlowDown 503, InternalError 500, ServiceUnavailable 503, RequestTimeout 400).
import { StoreError } from '../errors.ts';

/** S3 codes and Node error codes that say "try again", whatever the HTTP status. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'TimeoutError',
]);

/**
 * Messages of failures that carry no code: a body cut before its Content-Length ("aborted"), a
 * reply whose checksum does not match (the SDK validates CRC32 of GetObject bodies), a socket
 * closed before the reply, an XML reply cut short.
 */
const TRANSIENT_MESSAGE = /\baborted\b|socket hang up|premature close|checksum mismatch|unexpected end|unexpected close|unclosed|ECONNRESET|EPIPE/i;

/** Statuses that are the server's temporary trouble: 5xx, 429 Too Many Requests, 408. */
function transientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

interface ErrorFacts {
  readonly status?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly name?: unknown;
  readonly message?: unknown;
  readonly $response?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly cause?: unknown;
}

/** Kinds that never heal by retrying: the store answered, and meant it. */
const FINAL_KINDS: ReadonlySet<string> = new Set(['not-found', 'no-bucket', 'access-denied', 'bad-credentials', 'precondition-failed']);

export function isTransient(error: unknown): boolean {
  if (error instanceof StoreError && FINAL_KINDS.has(error.kind)) return false;
  // An abort is the caller's decision, though its message says "aborted" too.
  if (error instanceof Error && error.name === 'AbortError') return false;
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    if (transientOne(current as ErrorFacts)) return true;
    current = (current as ErrorFacts).cause;
  }
  return false;
}

function transientOne(facts: ErrorFacts): boolean {
  const status = facts.$metadata?.httpStatusCode;
  if (typeof status === 'number' && transientStatus(status)) return true;
  // A 2xx reply the SDK could not parse (a ListObjectsV2 XML cut short) carries `$response`.
  if (typeof status === 'number' && status >= 200 && status < 300 && facts.$response !== undefined) return true;
  for (const code of [facts.Code, facts.code, facts.name]) if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  return typeof facts.message === 'string' && TRANSIENT_MESSAGE.test(facts.message);
}
