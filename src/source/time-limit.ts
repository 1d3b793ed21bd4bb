// A deadline for server calls. A Lambda invocation is killed at its timeout whatever it is
// doing, and a stop signal only ends work between awaits: a query in flight (FerretDB answers an
// oplog query with a scan that takes seconds on a large oplog) runs on past it. So every call
// made for a run with a deadline carries the time left until then, as the driver's
// client-side operation timeout (`timeoutMS`), which the driver also sends to the server as
// maxTimeMS (so the server stops the query too) and enforces on the socket. Without a deadline
// (the CLI, `stream`) calls carry no limit, as before.

/** Driver options that bound one operation (a command, or a cursor over its whole life) by `deadline`. */
export function timeLimit(deadline: number | undefined): { timeoutMS?: number } {
  if (deadline === undefined) return {};
  // timeoutMS: 0 means "no limit" to the driver: a passed deadline is the smallest limit instead.
  return { timeoutMS: Math.max(1, Math.floor(deadline - Date.now())) };
}
