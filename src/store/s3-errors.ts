// Maps what the AWS SDK throws (S3 error codes, HTTP statuses of bodiless HEAD replies, credential
// provider failures, network errors) to one-line StoreErrors that name the bucket and key and
// carry a hint. Codes: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
import { StoreError, type StoreErrorKind } from '../errors.ts';

export interface S3ErrorContext {
  /** The S3 operation, e.g. "PutObject". */
  readonly operation: string;
  readonly bucket: string;
  /** The full object key (prefix included), or the prefix for bucket-level calls. */
  readonly key: string;
  /** Strings that must never reach a message (the secret key, a session token). */
  readonly secrets?: readonly string[];
}

const MIN_SECRET_LENGTH = 8;

const KIND_BY_CODE: Readonly<Record<string, StoreErrorKind>> = {
  NoSuchBucket: 'no-bucket',
  InvalidAccessKeyId: 'bad-credentials',
  SignatureDoesNotMatch: 'bad-credentials',
  ExpiredToken: 'bad-credentials',
  InvalidToken: 'bad-credentials',
  TokenRefreshRequired: 'bad-credentials',
  CredentialsProviderError: 'bad-credentials',
  AccessDenied: 'access-denied',
  AllAccessDisabled: 'access-denied',
  Forbidden: 'access-denied',
  PreconditionFailed: 'precondition-failed',
  // S3 answers 409 when two conditional writes to one key overlap; one of them wins.
  ConditionalRequestConflict: 'precondition-failed',
  NoSuchKey: 'not-found',
  NotFound: 'not-found',
};

const KIND_BY_STATUS: Readonly<Record<number, StoreErrorKind>> = {
  403: 'access-denied',
  404: 'not-found',
  412: 'precondition-failed',
};

function hintFor(kind: StoreErrorKind, bucket: string): string {
  switch (kind) {
    case 'no-bucket':
      return `create bucket ${bucket}, or fix the bucket name (and region or endpoint) of the store`;
    case 'access-denied':
      return `grant these credentials s3:ListBucket on ${bucket} and s3:GetObject, s3:PutObject, s3:DeleteObject under the prefix`;
    case 'bad-credentials':
      return 'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that the clock is right';
    case 'precondition-failed':
      return 'another run changed the object first; read it again and retry';
    case 'not-found':
      return 'it may have been pruned, or the store URL points elsewhere';
    case 'io':
      return 'check the endpoint, region and network; the SDK retried before giving up';
  }
}

/** Wraps an SDK error; a StoreError passes through unchanged. */
export function s3StoreError(error: unknown, context: S3ErrorContext): StoreError {
  if (error instanceof StoreError) return error;
  const { code, status, message } = describe(error);
  const kind: StoreErrorKind = (code && KIND_BY_CODE[code]) || (status && KIND_BY_STATUS[status]) || 'io';
  let hint = hintFor(kind, context.bucket);
  if (kind === 'io' && /region is missing/i.test(message)) hint = 'set the region (--region or AWS_REGION)';
  // The SDK's own message for a bodiless reply is "UnknownError": the status says more.
  const parts = [code, message !== 'UnknownError' && message !== code ? message : '', !code && status ? `HTTP ${status}` : ''];
  const reason = parts.filter(Boolean).join(': ') || 'unknown error';
  let text = `${context.operation} s3://${context.bucket}/${context.key} failed: ${reason}`.replace(/\s+/g, ' ').trim();
  for (const secret of context.secrets ?? []) {
    // Real secrets are long (AWS: 40 characters); a short one would mangle ordinary words.
    if (secret.length >= MIN_SECRET_LENGTH) text = text.split(secret).join('***');
  }
  return new StoreError(kind, text, { cause: error, hint });
}

interface SdkErrorFacts {
  readonly code: string | undefined;
  readonly status: number | undefined;
  readonly message: string;
}

function describe(error: unknown): SdkErrorFacts {
  if (!(error instanceof Error)) return { code: undefined, status: undefined, message: String(error) };
  const fields = error as Error & { Code?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = typeof fields.$metadata?.httpStatusCode === 'number' ? fields.$metadata.httpStatusCode : undefined;
  // Service errors carry the S3 code as `name` (and `Code`); network errors as a Node `code`.
  const named = typeof fields.Code === 'string' ? fields.Code : error.name !== 'Error' && error.name !== 'Unknown' ? error.name : undefined;
  const code = named ?? (typeof fields.code === 'string' ? fields.code : undefined);
  return { code, status, message: error.message };
}
