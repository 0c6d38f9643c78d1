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

/**
 * A figure past what a number holds exactly (±2^53): not a bug in the rules but a request whose
 * amounts, under its program, reach figures jifen cannot count to the unit. The API answers it as a
 * refusal (AMOUNT_OUT_OF_RANGE), and the transaction that met it writes nothing.
 */
export class OutOfRangeError extends Error {
  constructor() {
    super('jifen: a figure exceeds the safe integer range (2^53)');
    this.name = 'OutOfRangeError';
  }
}

/** Precondition check for programming errors; the message is constant so logs group it. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`jifen invariant: ${message}`);
}
