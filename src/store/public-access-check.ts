// The capability `status` asks a store for: whether anyone may read it. Only the S3 store has it
// (s3-public-access.ts holds the S3 calls); this file imports no SDK, so asking a folder store —
// or a store wrapped in retries — does not load the AWS SDK.

/** Implemented by stores that can tell whether anyone may read them (the S3 store). */
export interface PublicAccessCheck {
  /** `probeKey`: a key whose anonymous readability is tested (status passes the manifest's). */
  publicAccessWarnings(probeKey: string): Promise<string[]>;
}

export function hasPublicAccessCheck(store: object): store is PublicAccessCheck {
  return typeof (store as Partial<PublicAccessCheck>).publicAccessWarnings === 'function';
}
