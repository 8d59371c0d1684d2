import { randomFillSync } from 'crypto';

/**
 * Event ids are UUIDv7 (RFC 9562, section 5.7): a 48-bit Unix timestamp in milliseconds,
 * the version and variant bits, and 74 bits that are random or, within one millisecond,
 * a counter. Ids made later sort later, so new rows land at the right edge of the primary
 * key's B-tree instead of on a random page of it (RFC 9562, section 6.2, method 1).
 *
 * Layout of the 74 bits: `rand_a` (12 bits) and the first 30 bits of `rand_b` hold a
 * 42-bit counter, seeded at random (its top bit clear) at each new millisecond and
 * incremented for every id within it; the last 32 bits are fresh random bits for every id.
 * The clock never goes back for this process: a timestamp earlier than the last one used
 * is replaced by the last one, and the counter goes on. It cannot overflow: after its seed
 * there is room for 2^41 (2.2 trillion) ids in one millisecond, or for a clock held back
 * 25 days at a million ids a second.
 */

/** The counter has 42 bits; its seed keeps the top one clear. */
const SEED_LIMIT = 2 ** 41;

/** Random bytes drawn in blocks, so one id costs no system call. */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** The offset in `pool` of `n` fresh random bytes. */
function randomBytes(n: number): number {
  if (poolOffset + n > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += n;
  return at;
}

/** A random integer in [0, 2^41): the counter's seed. */
function counterSeed(): number {
  return pool.readUIntBE(randomBytes(6), 6) % SEED_LIMIT;
}

let lastMs = -Infinity;
let counter = 0;

/**
 * A new UUIDv7, later in order than every id this process made before it.
 * @param now the time to stamp, in milliseconds since the Unix epoch (tests only)
 */
export function newEventId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = counterSeed();
  } else {
    counter += 1;
  }
  const id = Buffer.allocUnsafe(16);
  id.writeUIntBE(lastMs, 0, 6);
  // Bytes 6..11, 48 bits: version 7 (4), the counter's top 12 bits (rand_a), variant 0b10 (2), its low 30 bits.
  id.writeUIntBE(7 * 2 ** 44 + Math.floor(counter / 2 ** 30) * 2 ** 32 + 2 * 2 ** 30 + (counter % 2 ** 30), 6, 6);
  const tail = randomBytes(4);
  pool.copy(id, 12, tail, tail + 4);
  const hex = id.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
