import { isUuid } from '../src/contract';
import { createTrackedEvent } from '../src/tracked-event';

let newEventId: (now?: number) => string;
// A fresh copy of the generator for each test, so none starts after another's last timestamp.
beforeEach(() => jest.isolateModulesAsync(async () => { ({ newEventId } = await import('../src/event-id')); }));

/** The fields of a UUIDv7, read back from its text (RFC 9562, section 5.7). */
function fields(id: string) {
  const hex = id.replace(/-/g, '');
  return {
    ms: parseInt(hex.slice(0, 12), 16),
    version: parseInt(hex[12], 16),
    variant: Math.floor(parseInt(hex[16], 16) / 4),
    counter: parseInt(hex.slice(13, 16), 16) * 2 ** 30 + (parseInt(hex.slice(16, 24), 16) % 2 ** 30),
  };
}

describe('newEventId: UUIDv7', () => {
  test('stamps the given millisecond, version 7 and variant 0b10, and passes the contract', () => {
    const now = Date.UTC(2026, 11, 1, 12, 0, 0, 123);
    const id = newEventId(now);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(fields(id)).toMatchObject({ ms: now, version: 7, variant: 0b10 });
    expect(isUuid(id)).toBe(true);
  });

  test('stamps the current time by default', () => {
    const before = Date.now();
    const { ms } = fields(newEventId());
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });

  test('ids made in one millisecond are unique and sort in the order they were made', () => {
    const now = Date.UTC(2030, 0, 1);
    const ids = Array.from({ length: 10_000 }, () => newEventId(now));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    const counters = ids.map((id) => fields(id).counter);
    expect(counters.slice(1).every((c, i) => c === counters[i] + 1)).toBe(true);
    expect(ids.every((id) => fields(id).ms === now)).toBe(true);
  });

  test('a clock that goes back keeps the order: the last timestamp is kept and counted on', () => {
    const later = Date.UTC(2031, 0, 1, 0, 0, 1);
    const first = newEventId(later);
    const second = newEventId(later - 1000);
    expect(second > first).toBe(true);
    expect(fields(second).ms).toBe(later);
  });

  test('a new millisecond seeds the counter at random, with its top bit clear', () => {
    const start = Date.UTC(2032, 0, 1);
    const seeds = Array.from({ length: 200 }, (_, i) => fields(newEventId(start + i)).counter);
    expect(seeds.every((c) => c < 2 ** 41)).toBe(true);
    expect(new Set(seeds).size).toBeGreaterThan(190);
  });

  test('the random tail differs between ids of the same counter position', () => {
    const tails = new Set(Array.from({ length: 200 }, (_, i) => newEventId(Date.UTC(2033, 0, 1) + i).slice(-8)));
    expect(tails.size).toBeGreaterThan(190);
  });
});

test('createTrackedEvent gives each event a time-ordered id', () => {
  const ids = Array.from({ length: 100 }, () => createTrackedEvent('user', 'user_created', { headers: { 'x-client-id': 'acme' } })!.eventId);
  expect(ids.every((id) => fields(id).version === 7)).toBe(true);
  expect([...ids].sort()).toEqual(ids);
});
