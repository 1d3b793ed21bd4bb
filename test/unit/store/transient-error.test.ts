// Which store failures are retried: the shapes the AWS SDK v3 and Node's HTTP client throw
// (service errors carry `name`/`Code` and `$metadata.httpStatusCode`; a reply the SDK could not
// parse carries `$response` and its 2xx status; a body cut short is Node's "aborted" with
// ECONNRESET; the SDK's CRC32 check of a GetObject body throws "Checksum mismatch").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StoreError } from '../../../src/errors.ts';
import { RetryClock } from '../../../src/store/retry-policy.ts';
import { isTransient } from '../../../src/store/transient-error.ts';

function sdkError(name: string, status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });
}

describe('transient store errors', () => {
  test('5xx, throttling, resets, cut bodies, checksum mismatches and unparsable replies are retried', () => {
    assert.ok(isTransient(sdkError('InternalError', 500)));
    assert.ok(isTransient(sdkError('SlowDown', 503)));
    assert.ok(isTransient(sdkError('Unknown', 502)));
    assert.ok(isTransient(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    assert.ok(isTransient(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
    assert.ok(isTransient(new Error('Checksum mismatch: expected "abc=" but received "def=" in response header "x-amz-checksum-crc32".')));
    assert.ok(isTransient(Object.assign(new Error('Unexpected end of input'), { $response: {}, $metadata: { httpStatusCode: 200 } })));
    // Wrapped by the store: the cause decides.
    assert.ok(isTransient(new StoreError('io', 'GetObject failed', { cause: sdkError('SlowDown', 503) })));
  });

  test('answers the store meant are not: missing, denied, lost races, bad credentials, an abort, a refused connection', () => {
    assert.ok(!isTransient(sdkError('PreconditionFailed', 412)));
    assert.ok(!isTransient(new StoreError('precondition-failed', 'lost', { cause: sdkError('InternalError', 500) })));
    assert.ok(!isTransient(sdkError('NoSuchKey', 404)));
    assert.ok(!isTransient(sdkError('AccessDenied', 403)));
    assert.ok(!isTransient(sdkError('InvalidAccessKeyId', 403)));
    assert.ok(!isTransient(Object.assign(new Error('This operation was aborted'), { name: 'AbortError' })));
    assert.ok(!isTransient(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })));
  });
});

describe('retry clock', () => {
  test('waits with jitter under an exponential ceiling and gives up when the budget would be spent', async () => {
    const delays: number[] = [];
    // The budget is wall time and a loaded machine's timers fire late: 1 s leaves room for the
    // first four waits (110 ms) however late each one ends.
    const clock = new RetryClock({ budgetMs: 1000, baseDelayMs: 10, maxDelayMs: 40, random: () => 0.999, onRetry: (event) => delays.push(event.delayMs) });
    while (await clock.wait('get', 'k', new Error('x'))) {
      assert.ok(delays.length < 50);
    }
    // Ceilings 10, 20, 40, 40, ...: never above the cap, and the total stays inside the budget.
    assert.deepEqual(delays.slice(0, 4), [10, 20, 40, 40]);
    assert.ok(delays.reduce((sum, ms) => sum + ms, 0) < 1000);
  });
});
