// The bench's data: deterministic, realistic order documents of about 1 KB each (nested
// sub-documents, arrays of sub-documents, strings, int32, int64, doubles, dates, booleans, nulls,
// binary UUIDs, ObjectIds), the same for a given index on every run. Decimal128 is left out:
// FerretDB 1.x drops the connection on it.
import { seededRandom } from '../support/seeded-random.ts';
import { randomBytes } from 'node:crypto';
import { Binary, Long, ObjectId, type Document } from 'mongodb';

const WORDS = (
  'order shipped pending delivered returned express standard parcel warehouse customer invoice ' +
  'refund priority fragile gift wrap coupon loyalty premium basic discount seasonal sale bundle ' +
  'north south east west central harbor valley river market garden station bridge summit lake'
).split(' ');
const CITIES = ['Lisbon', 'Porto', 'Madrid', 'Lyon', 'Berlin', 'Gdansk', 'Turin', 'Ghent', 'Aarhus', 'Cork', 'Brno', 'Split'];
const COUNTRIES = ['PT', 'ES', 'FR', 'DE', 'PL', 'IT', 'BE', 'DK', 'IE', 'CZ', 'HR'];
const STATUSES = ['new', 'paid', 'packed', 'shipped', 'delivered', 'returned', 'cancelled'];
const METHODS = ['card', 'paypal', 'transfer', 'voucher'];
/** 2026-01-01T00:00:00Z: dates spread forward from here. */
const EPOCH_MS = Date.UTC(2026, 0, 1);
/** One run's ObjectId "machine" bytes, so two runs' inserts never collide in one database. */
const MACHINE = randomBytes(5);


/** An ObjectId whose time part follows the document's date and whose counter is its index. */
export function benchId(n: number): ObjectId {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(Math.floor(EPOCH_MS / 1000) + Math.floor(n / 100), 0);
  MACHINE.copy(bytes, 4, 0, 5);
  bytes.writeUIntBE(n % 0xffffff, 9, 3);
  // The counter alone wraps at 16.7M; fold the high part into the time bytes' neighbour.
  bytes[8] = (bytes[8] ?? 0) ^ Math.floor(n / 0xffffff);
  return new ObjectId(bytes);
}

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)] as T;
}

function words(random: () => number, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(pick(random, WORDS));
  return out.join(' ');
}

/** Document number `n` (0-based): an order with its customer, items, totals and payment. */
export function makeDocument(n: number): Document {
  const random = seededRandom(n * 2654435761);
  const created = new Date(EPOCH_MS + n * 1000 + Math.floor(random() * 1000));
  const items = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, index) => {
    const qty = 1 + Math.floor(random() * 5);
    const unitPrice = Math.round(random() * 20000) / 100;
    return {
      line: index + 1,
      sku: `SKU-${Math.floor(random() * 1e6).toString().padStart(6, '0')}`,
      name: words(random, 3),
      qty,
      unitPrice,
      discount: random() < 0.7 ? null : Math.round(random() * 30) / 100,
      tags: [pick(random, WORDS), pick(random, WORDS)],
    };
  });
  const subtotal = Math.round(items.reduce((sum, item) => sum + item.qty * item.unitPrice, 0) * 100) / 100;
  const tax = Math.round(subtotal * 23) / 100;
  const shipping = random() < 0.3 ? 0 : 4.9;
  return {
    _id: benchId(n),
    orderNo: `ORD-${n.toString().padStart(9, '0')}`,
    seq: Long.fromNumber(n),
    status: pick(random, STATUSES),
    createdAt: created,
    updatedAt: new Date(created.getTime() + Math.floor(random() * 86_400_000)),
    customer: {
      id: Long.fromNumber(1_000_000 + Math.floor(random() * 500_000)),
      name: `${words(random, 1)} ${words(random, 1)}`,
      email: `user${Math.floor(random() * 1e7)}@example.com`,
      tier: Math.floor(random() * 4),
      marketing: random() < 0.5,
      address: {
        street: `${1 + Math.floor(random() * 300)} ${words(random, 2)} street`,
        city: pick(random, CITIES),
        zip: Math.floor(10000 + random() * 89999).toString(),
        country: pick(random, COUNTRIES),
        geo: { type: 'Point', coordinates: [random() * 40 - 10, 35 + random() * 25] },
      },
    },
    items,
    totals: { subtotal, tax, shipping, total: Math.round((subtotal + tax + shipping) * 100) / 100, currency: 'EUR' },
    payment: {
      method: pick(random, METHODS),
      last4: Math.floor(random() * 10000).toString().padStart(4, '0'),
      authorized: random() < 0.95,
      txId: new Binary(Buffer.from(Array.from({ length: 16 }, () => Math.floor(random() * 256))), Binary.SUBTYPE_UUID),
    },
    flags: Array.from({ length: Math.floor(random() * 4) }, () => pick(random, WORDS)),
    notes: words(random, 3 + Math.floor(random() * 16)),
    version: 1,
  };
}
