import { describe, expect, it } from 'vitest';
import { createTokenBuckets } from './rate-limit';

describe('token buckets', () => {
  const clockAt = (start = 0) => {
    const clock = { ms: start };
    return { clock, read: () => clock.ms };
  };

  it('allows a burst, then one request per refill interval', () => {
    const { clock, read } = clockAt();
    const take = createTokenBuckets({ ratePerSecond: 2, burst: 3, clock: read });
    expect([take('a'), take('a'), take('a')].every((decision) => decision.ok)).toBe(true);
    expect(take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    clock.ms += 500;
    expect(take('a').ok).toBe(true);
    expect(take('a').ok).toBe(false);
  });

  it('says how many whole seconds until the next request is allowed', () => {
    const { read } = clockAt();
    const take = createTokenBuckets({ ratePerSecond: 0.1, burst: 1, clock: read });
    expect(take('a').ok).toBe(true);
    expect(take('a')).toEqual({ ok: false, retryAfterSeconds: 10 });
  });

  it('never refills past the burst', () => {
    const { clock, read } = clockAt();
    const take = createTokenBuckets({ ratePerSecond: 10, burst: 2, clock: read });
    clock.ms += 60_000;
    expect([take('a').ok, take('a').ok, take('a').ok]).toEqual([true, true, false]);
  });

  it('keeps keys apart', () => {
    const { read } = clockAt();
    const take = createTokenBuckets({ ratePerSecond: 1, burst: 1, clock: read });
    expect(take('a').ok).toBe(true);
    expect(take('a').ok).toBe(false);
    expect(take('b').ok).toBe(true);
  });

  it('forgets the oldest keys beyond its size, so memory stays bounded', () => {
    const { read } = clockAt();
    const take = createTokenBuckets({ ratePerSecond: 0.001, burst: 1, clock: read, keysMax: 10 });
    for (let key = 0; key < 10; key += 1) take(`k${key}`);
    expect(take('k0').ok).toBe(false);
    take('k-new');
    // k0 was among the oldest tenth dropped: it starts again with a full bucket.
    expect(take('k0').ok).toBe(true);
  });

  it('refuses a configuration that would never allow a request', () => {
    expect(() => createTokenBuckets({ ratePerSecond: 0, burst: 1 })).toThrow(/ratePerSecond/);
  });
});
