/**
 * A bounded memo of a pure function's results, as epoch ms or other values no caller changes: at most
 * `MEMO_LIMIT` entries, then it starts over (a clear is cheaper than tracking recency, and the
 * calendar conversions it serves repeat within a day or a shopper's history). Internal to the rules.
 */
const MEMO_LIMIT = 100_000;

export function memoised<Key, Value>(memo: Map<Key, Value>, key: Key, compute: () => Value): Value {
  const known = memo.get(key);
  if (known !== undefined) return known;
  const value = compute();
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
  return value;
}
