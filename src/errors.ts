// One base error, one subclass per failure class, and the exit-code table the CLI maps them to.
// Errors say whose fault it is (the MongoDB driver's habit): a bad flag is the user's, an
// unreachable source is the source's, a corrupt object is the store's integrity.

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  source: 3,
  store: 4,
  gap: 5,
  integrity: 6,
  conflict: 7,
  target: 8,
  /** 128 + the signal's number, as a shell reports a process the signal ended. */
  sigint: 130,
  sigterm: 143,
} as const;
export type ExitCodeName = keyof typeof ExitCode;

export interface PitrErrorOptions {
  cause?: unknown;
  /** One short sentence naming the fix. */
  hint?: string;
}

export class PitrError extends Error {
  readonly exitCode: number = ExitCode.internal;
  readonly code: string = 'internal';
  readonly hint: string | undefined;
  constructor(message: string, options: PitrErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** A bad flag, URI, time or file given by the user. */
export class UsageError extends PitrError {
  override readonly exitCode = ExitCode.usage;
  override readonly code = 'usage';
}

/** The MongoDB source cannot be used: unreachable, not a replica set, no permission. */
export class SourceError extends PitrError {
  override readonly exitCode = ExitCode.source;
  override readonly code = 'source';
}

/** The restore target cannot be written. */
export class TargetError extends PitrError {
  override readonly exitCode = ExitCode.target;
  override readonly code = 'target';
}

export const StoreErrorKind = {
  notFound: 'not-found',
  noBucket: 'no-bucket',
  accessDenied: 'access-denied',
  badCredentials: 'bad-credentials',
  preconditionFailed: 'precondition-failed',
  io: 'io',
} as const;
export type StoreErrorKind = (typeof StoreErrorKind)[keyof typeof StoreErrorKind];

/** The store (bucket or folder) refused or failed an operation. */
export class StoreError extends PitrError {
  override readonly exitCode = ExitCode.store;
  override readonly code = 'store';
  readonly kind: StoreErrorKind;
  constructor(kind: StoreErrorKind, message: string, options: PitrErrorOptions = {}) {
    super(message, options);
    this.kind = kind;
  }
}

/** The oplog rolled over past the checkpoint: only a new base can continue the backup. */
export class OplogGap extends PitrError {
  override readonly exitCode = ExitCode.gap;
  override readonly code = 'oplog-gap';
  readonly checkpoint: string;
  readonly oldestAvailable: string | null;
  constructor(checkpoint: string, oldestAvailable: string | null, options: PitrErrorOptions = {}) {
    super(
      `oplog gap: checkpoint ${checkpoint} is no longer in the source oplog` +
        (oldestAvailable ? ` (oldest entry now ${oldestAvailable})` : ''),
      { hint: 'take a new base backup (mongo-pitr backup, or mongo-pitr run)', ...options },
    );
    this.checkpoint = checkpoint;
    this.oldestAvailable = oldestAvailable;
  }
}

/** Stored bytes do not match what the manifest says (missing, truncated, corrupt, discontinuous). */
export class IntegrityError extends PitrError {
  override readonly exitCode = ExitCode.integrity;
  override readonly code = 'integrity';
}

/**
 * An encrypted object cannot be read with the keys given: no identity, or none matching its
 * recipients. Exit code of the integrity class (what was stored cannot be used as given), a code
 * of its own so scripts can tell "give the key" from "the bytes are corrupt".
 */
export class KeyError extends PitrError {
  override readonly exitCode = ExitCode.integrity;
  override readonly code = 'key';
}

/** Another run changed the manifest first; nothing this run wrote is visible to a restore. */
export class ConflictError extends PitrError {
  override readonly exitCode = ExitCode.conflict;
  override readonly code = 'conflict';
}

/**
 * The run was stopped by SIGINT or SIGTERM before its work was done. What it committed stays
 * committed (every stage stops between commits); the message says what is left to do.
 */
export class Interrupted extends PitrError {
  override readonly exitCode: number;
  override readonly code = 'interrupted';
  readonly signal: 'SIGINT' | 'SIGTERM';
  constructor(signal: 'SIGINT' | 'SIGTERM', message = `stopped by ${signal}`, options: PitrErrorOptions = {}) {
    super(message, options);
    this.signal = signal;
    this.exitCode = signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
  }
}

/** Maps any thrown value to the process exit code. */
export function exitCodeOf(error: unknown): number {
  return error instanceof PitrError ? error.exitCode : ExitCode.internal;
}
