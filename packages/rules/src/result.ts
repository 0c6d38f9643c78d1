/**
 * A business refusal is a value, not an exception (STYLE.md "Errors say what happened, once"):
 * `{ ok: false, error: { code, ...facts } }`. A bug is an `assert` with a constant message.
 */
export type Result<T, E extends { code: string }> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function refuse<E extends { code: string }>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

/** Precondition check for programming errors; the message is constant so logs group it. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`jifen invariant: ${message}`);
}
