// A deadline for server calls. A Lambda invocation is killed at its timeout whatever it is
// doing, and a stop signal only ends work between awaits: a query in flight (FerretDB answers an
// oplog query with a scan that takes seconds on a large oplog) runs on past it. So every call
// made for a run with a deadline carries
//   - maxTimeMS, the time left: the server stops the operation itself then (for a cursor, mongod
//     counts the find's limit across its getMores: ClientCursor keeps the leftover time,
//     src/mongo/db/clientcursor.h, _leftoverMaxTimeMicros), and
//   - the deadline's abort signal (the driver's Abortable option): the driver gives up on the
//     reply then, even from a server that ignores maxTimeMS.
// The driver's own client-side timeout (`timeoutMS`) is a no-op in driver 7.9 ("has no effect and
// will be removed"), so it is not used. Without a deadline (the CLI, `stream`) calls carry no
// limit, as before.

import { MongoServerError } from 'mongodb';

export interface Deadline {
  /** Epoch ms by which every call has ended. */
  readonly at: number;
  /** Fires at `at`. */
  readonly signal: AbortSignal;
}

/** Driver options that bound one operation (a command, or a cursor over its whole life) by `deadline`. */
export function timeLimit(deadline: Deadline | undefined): { maxTimeMS?: number; signal?: AbortSignal } {
  if (deadline === undefined) return {};
  // maxTimeMS: 0 means "no limit" to the server: a passed deadline is the smallest limit instead.
  return { maxTimeMS: Math.max(1, Math.floor(deadline.at - Date.now())), signal: deadline.signal };
}

/** A deadline `ms` from now, its signal on an unref'd timer (a Lambda environment may be frozen and thawed). */
export function deadlineIn(ms: number, reason: () => Error): Deadline & { clear(): void } {
  const controller = new AbortController();
  const at = Date.now() + Math.max(0, ms);
  if (ms <= 0) {
    controller.abort(reason());
    return { at, signal: controller.signal, clear: () => undefined };
  }
  const timer = setTimeout(() => controller.abort(reason()), ms);
  timer.unref();
  return { at, signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** MaxTimeMSExpired: src/mongo/base/error_codes.yml in mongodb/mongo; FerretDB answers it too. */
const MAX_TIME_MS_EXPIRED = 50;

/**
 * Whether `error` is a call cut off by `deadline`: its signal has fired, or the server stopped the
 * operation at the maxTimeMS it carried. The server's clock and the event loop's timers disagree by
 * a few milliseconds (more on a busy machine), so the server may answer before the signal fires;
 * no other call of a run with a deadline carries a maxTimeMS, so the code alone says it was ours.
 */
export function cutOffBy(error: unknown, deadline: Deadline | undefined): boolean {
  if (!deadline) return false;
  if (deadline.signal.aborted) return true;
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof MongoServerError && cause.code === MAX_TIME_MS_EXPIRED) return true;
  }
  return false;
}
