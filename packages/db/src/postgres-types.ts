import { TypeOverrides } from 'pg';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Type parsers for one pool, passed as its `types` option so pg's global parsers stay untouched.
 * pg returns int8 as a string (it may exceed 2^53); every int8 here is an amount, a point count, a
 * sequence number or epoch milliseconds, validated as safe integers on the way in, so it comes back
 * as a number, and a value that would round throws instead. `sum()` over int8 is numeric: a whole
 * result becomes a number the same way; a fractional one (an average) stays exact decimal text.
 */
export function exactIntegerTypes(): TypeOverrides {
  const types = new TypeOverrides();
  types.setTypeParser(INT8_OID, parseInt8);
  types.setTypeParser(NUMERIC_OID, parseNumeric);
  return types;
}

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`Postgres returned the integer ${text}, beyond ±(2^53 − 1); jifen refuses to round it`);
  }
  return value;
}

function parseNumeric(text: string): number | string {
  return /^-?\d+$/.test(text) ? parseInt8(text) : text;
}
