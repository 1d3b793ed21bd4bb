// The identity of a document's `_id` as a string, for maps keyed by document: equal exactly
// when MongoDB's `_id` index holds two values equal.
import { BSON, Binary, BSONRegExp, BSONSymbol, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'mongodb';
import type { Document } from 'mongodb';
import { asSubDocument } from './delta-v2.ts';

/**
 * A key equal for two `_id` values exactly when MongoDB's `_id` index (simple collation) holds
 * them equal: type-tagged and recursive, with every number (int32, int64, double, decimal128)
 * reduced to its exact value, since 1, NumberLong(1), 1.0 and NumberDecimal("1.00") are one
 * `_id` (BSON comparison order, https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/).
 * Embedded documents compare field by field in order, so their keys keep field order.
 */
export function idKey(value: unknown): string {
  const number = exactNumber(value);
  if (number !== undefined) return `n${number}`;
  if (value === null || value === undefined) return 'null';
  // A symbol is a string to the server: one canonical type, compared by value
  // (canonicalizeBSONType in src/mongo/bson/bsontypes.cpp).
  if (typeof value === 'string') return `s${JSON.stringify(value)}`;
  if (value instanceof BSONSymbol) return `s${JSON.stringify(value.valueOf())}`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof ObjectId) return `o${value.toHexString()}`;
  if (value instanceof Date) return `d${value.getTime()}`;
  if (value instanceof Binary) return `b${value.sub_type}:${value.toString('base64')}`;
  if (value instanceof Timestamp) return `t${value.t}:${value.i}`;
  if (value instanceof MinKey) return 'minKey';
  if (value instanceof MaxKey) return 'maxKey';
  if (value instanceof RegExp) return `r${JSON.stringify([value.source, [...value.flags].sort().join('')])}`;
  if (value instanceof BSONRegExp) return `r${JSON.stringify([value.pattern, [...value.options].sort().join('')])}`;
  if (Array.isArray(value)) return `[${value.map(idKey).join(',')}]`;
  const doc = asSubDocument(value);
  if (doc !== undefined) {
    return `{${Object.entries(doc).map(([name, field]) => `${JSON.stringify(name)}:${idKey(field)}`).join(',')}}`;
  }
  return `x${BSON.EJSON.stringify(value as Document, { relaxed: false })}`;
}

/**
 * The exact value of a BSON number as "sign digits e exponent" with no trailing zeros in the
 * digits, or undefined when `value` is not a number. Doubles are expanded exactly (every
 * finite double is a finite decimal), so 0.1 and NumberDecimal("0.1") differ, as in MongoDB.
 */
function exactNumber(value: unknown): string | undefined {
  if (typeof value === 'number') return doubleKey(value);
  if (value instanceof Int32 || value instanceof Double) return doubleKey(value.valueOf());
  if (typeof value === 'bigint') return decimalKey(value < 0n, (value < 0n ? -value : value).toString(), 0);
  if (value instanceof Long) return exactNumber(BigInt(value.toString()));
  if (value instanceof Decimal128) return decimal128Key(value.toString());
  return undefined;
}

function doubleKey(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Inf' : '-Inf';
  let mantissa = Math.abs(x);
  let halvings = 0;
  // Doubling is exact, and a non-integer double is below 2^53, so this ends within 1,074 steps.
  while (!Number.isInteger(mantissa)) {
    mantissa *= 2;
    halvings++;
  }
  // m / 2^k = m * 5^k / 10^k
  const digits = (BigInt(mantissa) * 5n ** BigInt(halvings)).toString();
  return decimalKey(x < 0, digits, -halvings);
}

function decimal128Key(text: string): string {
  if (/^-?NaN$/i.test(text)) return 'NaN';
  if (/^-?Inf/i.test(text)) return text.startsWith('-') ? '-Inf' : 'Inf';
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:E([+-]?\d+))?$/i.exec(text);
  if (match === null) return `decimal:${text}`;
  const fraction = match[3] ?? '';
  return decimalKey(match[1] === '-', (match[2] ?? '') + fraction, Number(match[4] ?? 0) - fraction.length);
}

function decimalKey(negative: boolean, digits: string, exponent: number): string {
  const significant = digits.replace(/^0+/, '');
  if (significant === '') return '0';
  const trimmed = significant.replace(/0+$/, '');
  return `${negative ? '-' : ''}${trimmed}e${exponent + significant.length - trimmed.length}`;
}
