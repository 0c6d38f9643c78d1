import type { RateDecision } from '@jifen/api';

/**
 * Token buckets per caller key, in this process's memory (issue 4 "Rate limits on shopper
 * procedures"). A bucket holds up to `burst` requests and refills at `ratePerSecond`; an empty
 * bucket answers with the whole seconds until the next request is allowed (the `Retry-After`).
 * Several replicas each keep their own buckets, so the fleet-wide allowance is per replica — a
 * shopper pinned to one replica by a load balancer sees exactly these numbers.
 */
export interface TokenBucketOptions {
  ratePerSecond: number;
  burst: number;
  /** Milliseconds, monotonic; tests pass a fake. */
  clock?: () => number;
  /** Buckets kept at most; beyond it the oldest are dropped (a dropped bucket starts full). */
  keysMax?: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export function createTokenBuckets(options: TokenBucketOptions): (key: string) => RateDecision {
  const { ratePerSecond, burst } = options;
  if (!(ratePerSecond > 0) || !(burst >= 1)) throw new Error('rate limit: ratePerSecond must be > 0 and burst ≥ 1');
  const clock = options.clock ?? (() => performance.now());
  const keysMax = options.keysMax ?? 100_000;
  const buckets = new Map<string, Bucket>();

  return (key) => {
    const now = clock();
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      if (buckets.size >= keysMax) evict(buckets, now, ratePerSecond, burst, keysMax);
      bucket = { tokens: burst, updatedAt: now };
      buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerSecond);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond)) };
  };
}

/** Drops buckets that have refilled (forgetting them changes nothing), then the oldest tenth if still full. */
function evict(buckets: Map<string, Bucket>, now: number, ratePerSecond: number, burst: number, keysMax: number): void {
  for (const [key, bucket] of buckets) {
    if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerSecond >= burst) buckets.delete(key);
  }
  if (buckets.size < keysMax) return;
  let drop = Math.ceil(buckets.size / 10);
  for (const key of buckets.keys()) {
    if (drop-- <= 0) break;
    buckets.delete(key);
  }
}
