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
 * there is room for 2^41 (2.2 trillion) ids in one millisecond, or a clock held back for
 * 70 years at a million ids a second.
 */

/** The counter has 42 bits; its seed keeps the top one clear. */
const SEED_LIMIT = 2 ** 41;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Random bytes drawn in blocks, so one id costs no system call. */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

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
  const at = randomBytes(6);
  return pool.readUIntBE(at, 6) % SEED_LIMIT;
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
  const high = Math.floor(lastMs / 2 ** 32); // the timestamp's top 16 bits
  const low = lastMs % 2 ** 32;
  const randA = Math.floor(counter / 2 ** 30); // the counter's top 12 bits
  const counterLow = counter % 2 ** 30; // the counter's next 30 bits
  const at = randomBytes(4);
  const b = [
    high >>> 8, high & 0xff,
    low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff,
    0x70 | (randA >>> 8), randA & 0xff,
    0x80 | (counterLow >>> 24), (counterLow >>> 16) & 0xff, (counterLow >>> 8) & 0xff, counterLow & 0xff,
    pool[at], pool[at + 1], pool[at + 2], pool[at + 3],
  ];
  return (
    HEX[b[0]] + HEX[b[1]] + HEX[b[2]] + HEX[b[3]] + '-' + HEX[b[4]] + HEX[b[5]] + '-' + HEX[b[6]] + HEX[b[7]] + '-' +
    HEX[b[8]] + HEX[b[9]] + '-' + HEX[b[10]] + HEX[b[11]] + HEX[b[12]] + HEX[b[13]] + HEX[b[14]] + HEX[b[15]]
  );
}

