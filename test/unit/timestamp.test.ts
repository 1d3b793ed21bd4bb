// --until, --from and find's time bounds: every accepted form means exactly one instant, and a
// form that could mean two (an impossible date rolled over, a date-time in the host's zone) is
// refused. Forms follow RFC 3339's date-time (a profile of ISO 8601): a date-time carries "Z" or
// a numeric offset; a bare date is UTC midnight (as ECMAScript's Date.parse reads date-only forms).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import { isBeforeCutoff, parseCutoff } from '../../src/timestamp.ts';

const ms = (input: string): number => {
  const cutoff = parseCutoff(input);
  return cutoff.wallMs ?? cutoff.ts.t * 1000;
};
const refused = (input: string, pattern?: RegExp): void => {
  assert.throws(() => parseCutoff(input), (error: unknown) => {
    assert.ok(error instanceof UsageError, `${input}: ${String(error)}`);
    if (pattern) assert.match(error.message, pattern);
    return true;
  }, input);
};

describe('parseCutoff: dates and date-times', () => {
  test('a bare date is UTC midnight', () => {
    assert.equal(ms('2026-11-30'), Date.UTC(2026, 10, 30));
    assert.deepEqual(parseCutoff('2026-11-30').ts, { t: Date.UTC(2026, 10, 30) / 1000, i: 0 });
  });

  test('impossible dates are refused, not rolled over into the next month', () => {
    refused('2026-11-31T10:00:00Z', /2026-11-31/);
    refused('2026-11-31');
    refused('2026-02-29T00:00:00Z');
    refused('2026-13-01T00:00:00Z');
    refused('2026-00-10');
    refused('2026-04-00T00:00:00Z');
    refused('2100-02-29'); // divisible by 100, not by 400: no leap day
  });

  test('leap days exist in leap years', () => {
    assert.equal(ms('2028-02-29T12:00:00Z'), Date.UTC(2028, 1, 29, 12));
    assert.equal(ms('2000-02-29'), Date.UTC(2000, 1, 29));
  });

  test('a date-time needs Z or an offset: the host zone never decides', () => {
    refused('2026-11-30T10:00:00', /offset|Z/);
    refused('2026-11-30T10:00');
    refused('2026-11-30T10:00:00.250');
  });

  test('Z and numeric offsets, with and without a colon', () => {
    const utc = Date.UTC(2026, 10, 30, 10, 0, 0);
    assert.equal(ms('2026-11-30T10:00:00Z'), utc);
    assert.equal(ms('2026-11-30T10:00:00z'), utc);
    assert.equal(ms('2026-11-30T10:00Z'), utc);
    assert.equal(ms('2026-11-30T15:30:00+05:30'), utc);
    assert.equal(ms('2026-11-30T15:30:00+0530'), utc);
    assert.equal(ms('2026-11-30T04:15:00-05:45'), utc);
    assert.equal(ms('2026-11-30T10:00:00+00:00'), utc);
    assert.equal(ms('2026-11-30T10:00:00-00:00'), utc);
    // An offset moves the instant across a date line and still means one instant.
    assert.equal(ms('2026-12-01T01:00:00+15:00'), utc);
  });

  test('impossible times and offsets are refused', () => {
    refused('2026-11-30T25:00:00Z');
    refused('2026-11-30T10:60:00Z');
    refused('2026-11-30T10:00:60Z'); // leap seconds: MongoDB's clocks never show them
    refused('2026-11-30T10:00:00+24:00');
    refused('2026-11-30T10:00:00+05:60');
    refused('2026-11-30T10Z');
    refused('2026-11-30T10:00:00 Z');
    refused('2026-1-30T10:00:00Z');
    refused('2026-11-30Z');
  });

  test('24:00 is refused with the spelling to use instead', () => {
    refused('2026-11-30T24:00:00Z', /00:00/);
    refused('2026-11-30T24:00Z');
  });

  test('fractions: milliseconds are decided by wall; a finer fraction rounds up to the next ms', () => {
    const cutoff = parseCutoff('2026-11-30T10:00:00.250Z');
    assert.equal(cutoff.wallMs, Date.UTC(2026, 10, 30, 10, 0, 0, 250));
    assert.deepEqual(cutoff.ts, { t: Date.UTC(2026, 10, 30, 10) / 1000, i: 0 });
    assert.equal(parseCutoff('2026-11-30T10:00:00.5Z').wallMs, Date.UTC(2026, 10, 30, 10, 0, 0, 500));
    // .2501: an op with wall .250 is before it, so it is applied; one at .251 is not. That is
    // exactly the cutoff .251 (walls are whole milliseconds), not .250 (which would leave .250 out).
    const fine = parseCutoff('2026-11-30T10:00:00.2501Z');
    assert.equal(fine.wallMs, Date.UTC(2026, 10, 30, 10, 0, 0, 251));
    const second = Date.UTC(2026, 10, 30, 10) / 1000;
    assert.equal(isBeforeCutoff({ t: second, i: 1 }, new Date(Date.UTC(2026, 10, 30, 10, 0, 0, 250)), fine), true);
    assert.equal(isBeforeCutoff({ t: second, i: 2 }, new Date(Date.UTC(2026, 10, 30, 10, 0, 0, 251)), fine), false);
    // A fraction of zeros is the whole second.
    assert.equal(parseCutoff('2026-11-30T10:00:00.000Z').wallMs, undefined);
    // .9999 rounds up into the next second, which then starts the cutoff.
    assert.deepEqual(parseCutoff('2026-11-30T10:00:00.9999Z').ts, { t: second + 1, i: 0 });
  });

  test('before 1970 and past the Timestamp range are refused', () => {
    refused('1969-12-31T23:59:59Z', /1970/);
    refused('2106-02-08T00:00:00Z', /range/);
  });
});

describe('parseCutoff: epoch seconds and seconds:ordinal', () => {
  test('seconds:ordinal is taken as given', () => {
    assert.deepEqual(parseCutoff('1700000000:7'), { ts: { t: 1700000000, i: 7 }, input: '1700000000:7' });
    refused('4294967296:0', /range/);
  });

  test('epoch seconds, with a fraction decided by wall (finer than ms rounds up)', () => {
    assert.deepEqual(parseCutoff('1700000000').ts, { t: 1700000000, i: 0 });
    assert.equal(parseCutoff('1700000000.25').wallMs, 1700000000250);
    assert.equal(parseCutoff('1700000000.0001').wallMs, 1700000000001);
    assert.equal(parseCutoff('1700000000.000').wallMs, undefined);
  });

  test('a clock time is refused, not read as second 12 of 1970', () => {
    refused('12:01', /time of day has no date or zone/);
    refused('9:30', /time of day/);
    refused('23:59:59', /time of day/);
    assert.throws(() => parseCutoff('12:01'), (error: unknown) => error instanceof UsageError && /2026-11-30T12:01:00Z/.test(error.hint ?? ''));
    // Still seconds:ordinal where the ordinal cannot be minutes, or the hour cannot be one.
    assert.deepEqual(parseCutoff('12:60').ts, { t: 12, i: 60 });
    assert.deepEqual(parseCutoff('24:01').ts, { t: 24, i: 1 });
  });

  test('anything else is refused', () => {
    refused('yesterday');
    refused('');
    refused('1700000000:');
  });
});
