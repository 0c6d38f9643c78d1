import { Agent, request as httpRequest } from 'node:http';
import { verifyMerchant } from '@jifen/api';
import type { JifenDialect } from '@jifen/db';
import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Random, seedFromEnvironment, seededRandom } from '@jifen/api/testing';
import { post } from './support/http';
import { ledgerSnapshot } from './support/snapshot';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';
import { honestClaims, signHmac } from './support/tokens';

/**
 * Generated hostile input (SPEC §7, issue 4): every merchant and shopper procedure's valid payload,
 * mutated one place at a time — a field dropped, retyped, pushed past its bounds, swapped for a
 * huge or malformed string, an extra key added (`__proto__` included), the whole input replaced —
 * and sent to a real server over keep-alive loopback. Each answer must be a 4xx whose message names
 * the mutated field, never a 5xx or a 2xx, never a stack trace or SQL, and the ledger must come out
 * exactly as it went in. The seed changes every run and is printed with any failure;
 * `JIFEN_TEST_SEED=<n>` replays it (`@jifen/api/testing`).
 */

const MUTATIONS = 10_000;
const CONNECTIONS = 8;
const MONEY_MAX = 10_000_000_000_000;
const SAFE_MAX = Number.MAX_SAFE_INTEGER;

/** JSON text placed as is: numbers JSON.stringify cannot write (1e400), lone surrogates, deep nesting. */
class Raw {
  constructor(readonly text: string) {}
}
type Value = string | number | boolean | null | Raw | Value[] | { [key: string]: Value };

function toJson(value: Value): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .map((key) => `${JSON.stringify(key)}:${toJson(value[key]!)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

type Generator = Random;

// What a field is, and so which values are wrong for it.
type Kind =
  | 'id'
  | 'money'
  | 'points'
  | 'signedPoints'
  | 'text'
  | 'category'
  | 'currency'
  | 'instant'
  | 'bool'
  | 'ttl'
  | 'limit'
  | 'days'
  | 'expiryDays'
  | 'version'
  | 'cursor'
  | 'quantity'
  | 'behaviourKind'
  | 'items'
  | 'codes'
  | 'program'
  | 'template';

interface Field {
  kind: Kind;
  required: boolean;
}

interface ProcedureSpec {
  procedure: string;
  as: 'merchant' | 'shopper';
  isQuery: boolean;
  fields: Record<string, Field>;
  /** A valid input; optional fields are filled at random so mutations meet them too. */
  valid: (random: Generator) => Record<string, Value> | undefined;
}

const required = (kind: Kind): Field => ({ kind, required: true });
const optional = (kind: Kind): Field => ({ kind, required: false });

const aTemplate = (): Record<string, Value> => ({
  id: 'mut-template',
  name: { 'zh-CN': '减 5 元', en: '5 off' },
  discount: { kind: 'fixed', amountOff: 500 },
  pointsCost: 500,
  stock: 10,
});
const aProgram = (): Record<string, Value> => ({
  valuation: { kind: 'fixed', pointsPerCurrencyUnit: 100 },
  earning: { baseRate: 0.06, tiers: [{ id: 'member', name: { 'zh-CN': '会员', en: 'Member' }, minSpend: 0, multiplier: 1 }] },
  expiry: { kind: 'rolling', months: 12 },
});
const someLines = (random: Generator): Value[] =>
  Array.from({ length: 1 + random.integer(0, 2) }, (_, index) => ({ sku: `sku-${index}`, category: 'tea', amount: 1000 + index, quantity: 1 + index }));

function withOptional(random: Generator, base: Record<string, Value>, extras: Record<string, Value>): Record<string, Value> {
  const payload = { ...base };
  for (const [key, value] of Object.entries(extras)) if (random.chance(0.5)) payload[key] = value;
  return payload;
}

const procedures: ProcedureSpec[] = [
  {
    procedure: 'merchant.orders.paid',
    as: 'merchant',
    isQuery: false,
    fields: {
      orderId: required('id'),
      shopperId: required('id'),
      amount: required('money'),
      currency: required('currency'),
      items: optional('items'),
      shipping: optional('money'),
      tax: optional('money'),
      paidAt: optional('instant'),
      holdId: optional('id'),
      couponCodes: optional('codes'),
    },
    valid: (random) =>
      withOptional(random, { orderId: 'mut-order', shopperId: '42', amount: 10_000, currency: 'CNY' }, { items: someLines(random), shipping: 500, tax: 100, paidAt: '2026-11-11T10:00:00+08:00', holdId: 'h-none', couponCodes: ['CODE-1'] }),
  },
  { procedure: 'merchant.orders.completed', as: 'merchant', isQuery: false, fields: { orderId: required('id'), completedAt: optional('instant') }, valid: (random) => withOptional(random, { orderId: 'mut-order' }, { completedAt: '2026-11-12T10:00:00+08:00' }) },
  { procedure: 'merchant.orders.refunded', as: 'merchant', isQuery: false, fields: { orderId: required('id'), refundId: required('id'), amount: required('money') }, valid: () => ({ orderId: 'mut-order', refundId: 'r-1', amount: 100 }) },
  { procedure: 'merchant.orders.cancelled', as: 'merchant', isQuery: false, fields: { orderId: required('id') }, valid: () => ({ orderId: 'mut-order' }) },
  { procedure: 'merchant.shoppers.token', as: 'merchant', isQuery: false, fields: { shopperId: required('id'), ttlSeconds: optional('ttl') }, valid: (random) => withOptional(random, { shopperId: '42' }, { ttlSeconds: 900 }) },
  { procedure: 'merchant.shoppers.get', as: 'merchant', isQuery: true, fields: { shopperId: required('id') }, valid: () => ({ shopperId: '42' }) },
  {
    procedure: 'merchant.shoppers.adjust',
    as: 'merchant',
    isQuery: false,
    fields: { shopperId: required('id'), points: required('signedPoints'), reason: required('text'), idempotencyKey: required('id') },
    valid: () => ({ shopperId: '42', points: 100, reason: 'goodwill', idempotencyKey: 'mut-adj' }),
  },
  { procedure: 'merchant.shoppers.setVip', as: 'merchant', isQuery: false, fields: { shopperId: required('id'), isVip: required('bool') }, valid: () => ({ shopperId: '42', isVip: true }) },
  {
    procedure: 'merchant.behaviour.record',
    as: 'merchant',
    isQuery: false,
    fields: { kind: required('behaviourKind'), shopperId: required('id'), ref: required('id') },
    valid: (random) => ({ kind: random.pick(['review', 'photoReview', 'share']), shopperId: '42', ref: 'mut-review' }),
  },
  {
    procedure: 'merchant.behaviour.record',
    as: 'merchant',
    isQuery: false,
    fields: { kind: required('behaviourKind'), shopperId: required('id'), referredBy: required('id') },
    valid: () => ({ kind: 'referral', shopperId: 'mut-newbie', referredBy: '42' }),
  },
  { procedure: 'merchant.program.get', as: 'merchant', isQuery: true, fields: { version: optional('version') }, valid: (random) => withOptional(random, {}, { version: 1 }) },
  { procedure: 'merchant.program.update', as: 'merchant', isQuery: false, fields: { program: required('program') }, valid: () => ({ program: aProgram() }) },
  { procedure: 'merchant.coupons.templates.list', as: 'merchant', isQuery: true, fields: {}, valid: () => ({}) },
  { procedure: 'merchant.coupons.templates.upsert', as: 'merchant', isQuery: false, fields: { template: required('template') }, valid: () => ({ template: aTemplate() }) },
  {
    procedure: 'merchant.coupons.validate',
    as: 'merchant',
    isQuery: true,
    fields: { code: required('id'), orderAmount: required('money'), shipping: optional('money') },
    valid: (random) => withOptional(random, { code: 'CODE-1', orderAmount: 10_000 }, { shipping: 800 }),
  },
  {
    procedure: 'merchant.coupons.redeem',
    as: 'merchant',
    isQuery: false,
    fields: { code: required('id'), orderId: required('id'), orderAmount: required('money'), shipping: optional('money'), shopperId: optional('id') },
    valid: (random) => withOptional(random, { code: 'CODE-1', orderId: 'mut-order', orderAmount: 10_000 }, { shipping: 800, shopperId: '42' }),
  },
  { procedure: 'merchant.reports.summary', as: 'merchant', isQuery: true, fields: {}, valid: () => ({}) },
  { procedure: 'merchant.simulate', as: 'merchant', isQuery: false, fields: { program: required('program'), days: optional('days') }, valid: (random) => withOptional(random, { program: aProgram() }, { days: 30 }) },
  { procedure: 'merchant.keys.list', as: 'merchant', isQuery: true, fields: {}, valid: () => ({}) },
  { procedure: 'merchant.keys.rotate', as: 'merchant', isQuery: false, fields: {}, valid: () => ({}) },
  { procedure: 'merchant.keys.revoke', as: 'merchant', isQuery: false, fields: { keyId: required('id') }, valid: () => ({ keyId: 'k_none' }) },
  { procedure: 'merchant.approvals.list', as: 'merchant', isQuery: true, fields: { limit: optional('limit') }, valid: (random) => withOptional(random, {}, { limit: 10 }) },
  { procedure: 'merchant.approvals.approve', as: 'merchant', isQuery: false, fields: { holdId: required('id') }, valid: () => ({ holdId: 'h-none' }) },
  { procedure: 'shopper.me', as: 'shopper', isQuery: true, fields: {}, valid: () => ({}) },
  { procedure: 'shopper.activity', as: 'shopper', isQuery: true, fields: { before: optional('cursor'), limit: optional('limit') }, valid: (random) => withOptional(random, {}, { before: 10, limit: 20 }) },
  {
    procedure: 'shopper.checkout.quote',
    as: 'shopper',
    isQuery: true,
    fields: { cartAmount: required('money'), items: optional('items'), couponCode: optional('id') },
    valid: (random) => withOptional(random, { cartAmount: 20_000 }, { items: someLines(random), couponCode: 'CODE-1' }),
  },
  {
    procedure: 'shopper.checkout.reserve',
    as: 'shopper',
    isQuery: false,
    fields: { checkoutId: required('id'), points: required('points'), cartAmount: required('money'), items: optional('items'), couponCode: optional('id') },
    valid: (random) => withOptional(random, { checkoutId: 'mut-checkout', points: 100, cartAmount: 20_000 }, { items: someLines(random), couponCode: 'CODE-1' }),
  },
  { procedure: 'shopper.checkout.release', as: 'shopper', isQuery: false, fields: { holdId: required('id') }, valid: () => ({ holdId: 'h-none' }) },
  { procedure: 'shopper.coupons.catalog', as: 'shopper', isQuery: true, fields: {}, valid: () => ({}) },
  { procedure: 'shopper.coupons.exchange', as: 'shopper', isQuery: false, fields: { templateId: required('id'), idempotencyKey: required('id') }, valid: () => ({ templateId: 'mut-template', idempotencyKey: 'mut-x' }) },
  { procedure: 'shopper.coupons.mine', as: 'shopper', isQuery: true, fields: {}, valid: () => ({}) },
  { procedure: 'shopper.coupons.cancel', as: 'shopper', isQuery: false, fields: { code: required('id') }, valid: () => ({ code: 'CODE-1' }) },
  { procedure: 'shopper.expiry.upcoming', as: 'shopper', isQuery: true, fields: { days: optional('expiryDays') }, valid: (random) => withOptional(random, {}, { days: 30 }) },
  { procedure: 'shopper.checkin', as: 'shopper', isQuery: false, fields: {}, valid: () => ({}) },
  { procedure: 'shopper.pool.history', as: 'shopper', isQuery: true, fields: { limit: optional('limit') }, valid: (random) => withOptional(random, {}, { limit: 10 }) },
];

// Wrong values by kind. Numbers past what JSON.stringify can write are Raw text.
const wrongTypesForNumber: Value[] = ['100', 'NaN', 'Infinity', '-Infinity', '1e3', '0x10', '١٢', '', true, false, null, [], [1], {}, { value: 1 }];
const wrongTypesForString: Value[] = [1, 0, -1, 1.5, true, false, null, [], ['x'], {}, { id: 'x' }];
const hugeNumbers: Value[] = [
  new Raw('9007199254740992'),
  new Raw('9007199254740993'),
  new Raw('9223372036854775807'),
  new Raw('9223372036854775808'),
  new Raw('18446744073709551616'),
  new Raw('1e21'),
  new Raw('1e308'),
  new Raw('1e400'),
  new Raw('-1e400'),
  new Raw('123456789012345678901234567890'),
];
const fractions: Value[] = [0.5, 1.5, 0.1, 99.99, 1.0000001, -0.5, new Raw('1e-7'), new Raw('5e-324')];
const negatives: Value[] = [-1, -100, -SAFE_MAX, new Raw('-9223372036854775808')];

function boundedInteger(min: number, max: number): Value[] {
  return [min - 1, max + 1, max * 10 + 7, ...negatives, ...fractions, ...hugeNumbers, ...wrongTypesForNumber].filter((value) => !(typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max));
}

function deepArray(depth: number): Raw {
  return new Raw('['.repeat(depth) + ']'.repeat(depth));
}

function badStrings(random: Generator, maxLength: number): Value[] {
  return [
    '',
    'x'.repeat(maxLength + 1),
    'x'.repeat(maxLength + 1 + random.integer(0, 19_999)),
    'tab\there',
    'line\nbreak',
    'nul\u0000byte',
    'bell\u0007',
    new Raw('"\\ud800"'),
  ];
}

function wrongValues(kind: Kind, random: Generator): Value[] {
  switch (kind) {
    case 'id':
      return [...badStrings(random, 128), 'has space', '订单', 'emoji-😀', ' leading', ...wrongTypesForString, deepArray(200)];
    case 'text':
      return [...badStrings(random, 200), ...wrongTypesForString];
    case 'category':
      return [...badStrings(random, 64), ...wrongTypesForString];
    case 'currency':
      return ['XXZ', 'cny', '', 'CNYY', 'CN', '€', '123', 'USD', 'JPY', 'C N', ...wrongTypesForString];
    case 'instant':
      return ['2026-13-45T99:99:99Z', '2026-11-11T10:00:00', '2026-11-11', 'yesterday', '', 'NaN', '2026-11-11T10:00:00+25:00', 1_794_369_600_000, true, null, [], {}];
    case 'bool':
      return ['true', 'false', 1, 0, 'yes', null, [], {}, [true]];
    case 'money':
      return [MONEY_MAX + 1, 2 ** 53 - 1, ...negatives, ...fractions, ...hugeNumbers, ...wrongTypesForNumber, deepArray(300)];
    case 'points':
      return [...negatives, ...fractions, ...hugeNumbers, ...wrongTypesForNumber];
    case 'signedPoints':
      return [0, ...fractions, ...hugeNumbers, new Raw('-9007199254740992'), ...wrongTypesForNumber];
    case 'ttl':
      return boundedInteger(1, 3600);
    case 'limit':
      return boundedInteger(1, 100);
    case 'days':
      return boundedInteger(1, 366);
    case 'expiryDays':
      return boundedInteger(1, 3660);
    case 'version':
    case 'cursor':
      return boundedInteger(1, SAFE_MAX);
    case 'quantity':
      return boundedInteger(1, 1_000_000);
    case 'behaviourKind':
      return ['purchase', 'REVIEW', '', 'referral ', 'constructor', '__proto__', ...wrongTypesForString];
    case 'items':
      return ['lines', 1, true, {}, { 0: { amount: 1 } }, Array.from({ length: 201 }, () => ({ amount: 1 })), [{ amount: MONEY_MAX }, { amount: 1 }], deepArray(500)];
    case 'codes':
      return ['CODE-1', 1, {}, Array.from({ length: 11 }, (_, index) => `c-${index}`), [''], ['x'.repeat(129)], [1], [null]];
    case 'program':
    case 'template':
      return ['generous', 1, true, [], [{}], null, deepArray(100)];
  }
}

/** One place in a valid payload to break: its dotted path, and the body to send. */
interface Mutation {
  procedure: string;
  as: 'merchant' | 'shopper';
  method: 'GET' | 'POST';
  /** Messages come in both shipped languages; each must name the field first. */
  language: 'en' | 'zh-CN';
  /** The field the answer must name (`input` for the input as a whole). */
  field: string;
  what: string;
  body: string;
}

const EXTRA_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'merchantId', 'shopperId', 'isAdmin', '金额', 'amount ', 'x'.repeat(300)];

function setAt(target: Record<string, Value>, key: string, value: Value): void {
  // defineProperty: `__proto__` must be an own key, as JSON.parse makes it, not the prototype setter.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function cloneValue(value: Value): Value {
  if (value instanceof Raw || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(cloneValue);
  const copy: Record<string, Value> = {};
  for (const key of Object.keys(value)) setAt(copy, key, cloneValue(value[key]!));
  return copy;
}

/** Mutations inside a program: each names `program.<path>` (a wrong value, an unknown key at any depth). */
const programMutations: { path: string; value: Value }[] = [
  { path: 'earning.baseRate', value: 2 },
  { path: 'earning.baseRate', value: -0.1 },
  { path: 'earning.baseRate', value: 0.00001 },
  { path: 'earning.baseRate', value: '0.05' },
  { path: 'earning.pendingDays', value: 366 },
  { path: 'earning.tiers', value: [] },
  { path: 'earning.segments.vip', value: 101 },
  { path: 'earning.segments.bonus', value: 1 },
  { path: 'earning.bonus', value: 1 },
  { path: 'earning.tiers.0.extra', value: 1 },
  { path: 'earning.tiers.0.name.fr', value: 'Membre' },
  { path: 'earning.tiers.0.multiplier', value: new Raw('1e400') },
  { path: 'behaviours.referral.grandparent', value: 10 },
  { path: 'behaviours.review', value: -5 },
  { path: 'redemption.maxShare', value: 1.5 },
  { path: 'redemption.step', value: 0 },
  { path: 'redemption.surprise', value: true },
  { path: 'expiry.kind', value: 'weekly' },
  { path: 'expiry.months', value: 0 },
  { path: 'expiry.reminderDays', value: [0] },
  { path: 'valuation.kind', value: 'crypto' },
  { path: 'valuation.pointsPerCurrencyUnit', value: 0 },
  { path: 'currency', value: 'XXZ' },
  { path: 'timeZone', value: 'Mars/Olympus' },
  { path: 'pointDecimals', value: 7 },
  { path: '__proto__', value: { polluted: true } },
  { path: 'constructor', value: { prototype: {} } },
  { path: 'earning.__proto__', value: { baseRate: 1 } },
];

const templateMutations: { path: string; value: Value }[] = [
  { path: 'id', value: '' },
  { path: 'id', value: 'has space' },
  { path: 'pointsCost', value: -1 },
  { path: 'pointsCost', value: '500' },
  { path: 'pointsCost', value: new Raw('9007199254740993') },
  { path: 'name.fr', value: 'Cinq' },
  { path: 'name.en', value: '' },
  { path: 'discount.kind', value: 'bogus' },
  { path: 'discount.amountOff', value: 0 },
  { path: 'discount.extra', value: 1 },
  { path: 'stock', value: -3 },
  { path: 'validityDays', value: 0 },
  { path: 'activeFrom', value: 'tomorrow' },
  { path: 'isCancellable', value: 'yes' },
  { path: 'surprise', value: 1 },
  { path: '__proto__', value: { pointsCost: 0 } },
];

/** Sets `value` at a dotted path inside `root`, creating objects on the way. */
function setPath(root: Record<string, Value>, path: string, value: Value): void {
  const keys = path.split('.');
  let node: Record<string, Value> = root;
  for (const key of keys.slice(0, -1)) {
    const child = Object.hasOwn(node, key) ? node[key] : undefined;
    if (child === undefined || child === null || typeof child !== 'object' || child instanceof Raw) {
      const fresh: Record<string, Value> = {};
      setAt(node, key, fresh);
      node = fresh;
    } else {
      node = child as Record<string, Value>;
    }
  }
  setAt(node, keys[keys.length - 1]!, value);
}

function mutate(spec: ProcedureSpec, random: Generator): { field: string; what: string; body: string } {
  const valid = spec.valid(random) ?? {};
  const payload = cloneValue(valid) as Record<string, Value>;
  const names = Object.keys(spec.fields);
  const present = names.filter((name) => Object.hasOwn(payload, name));
  const roll = random.integer(0, 99);

  if (roll < 6 || names.length === 0 && roll < 40) {
    const root = random.pick<Value>(['an order', 42, true, null, [], [valid], new Raw('"\\ud800"'), deepArray(1000 + random.integer(0, 4999))]);
    return { field: 'input', what: `input replaced by ${toJson(root).slice(0, 40)}`, body: toJson(root) };
  }
  if (roll < 22 || names.length === 0) {
    const key = random.pick(EXTRA_KEYS.filter((candidate) => !names.includes(candidate)));
    setAt(payload, key, random.pick<Value>([1, 'x', null, { isAdmin: true }, []]));
    return { field: key, what: `extra key ${key.slice(0, 20)}`, body: toJson(payload) };
  }
  const requiredNames = names.filter((name) => spec.fields[name]!.required && Object.hasOwn(payload, name));
  if (roll < 32 && requiredNames.length > 0) {
    const name = random.pick(requiredNames);
    delete payload[name];
    return { field: name, what: `${name} dropped`, body: toJson(payload) };
  }
  const name = present.length > 0 && random.chance(0.8) ? random.pick(present) : random.pick(names);
  const field = spec.fields[name]!;

  if (field.kind === 'items' && Object.hasOwn(payload, name) && Array.isArray(payload[name]) && random.chance(0.5)) {
    const lines = payload[name] as Record<string, Value>[];
    const index = random.integer(0, lines.length - 1);
    const line = lines[index]!;
    const lineFields: Record<string, Kind> = { sku: 'id', category: 'category', amount: 'money', quantity: 'quantity' };
    if (random.chance(0.2)) {
      const key = random.pick(['price', '__proto__', 'constructor', 'discount']);
      setAt(line, key, 1);
      return { field: `${name}.${index}.${key}`, what: `extra key in a line`, body: toJson(payload) };
    }
    const lineField = random.pick(Object.keys(lineFields));
    setAt(line, lineField, random.pick(wrongValues(lineFields[lineField]!, random)));
    return { field: `${name}.${index}.${lineField}`, what: `line ${lineField} broken`, body: toJson(payload) };
  }
  if ((field.kind === 'program' || field.kind === 'template') && random.chance(0.7)) {
    const config = payload[name] as Record<string, Value>;
    const mutation = random.pick(field.kind === 'program' ? programMutations : templateMutations);
    setPath(config, mutation.path, cloneValue(mutation.value));
    return { field: `${name}.${mutation.path}`, what: `${field.kind} ${mutation.path} broken`, body: toJson(payload) };
  }
  const value = random.pick(wrongValues(field.kind, random));
  setAt(payload, name, value);
  return { field: name, what: `${name} = ${toJson(value).slice(0, 40)}`, body: toJson(payload) };
}

function generateMutations(seed: number, count: number): Mutation[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, index) => {
    const spec = procedures[index % procedures.length]!;
    const { field, what, body } = mutate(spec, random);
    // Queries also arrive as GET ?input=; long inputs stay POSTs (a URL has no room for them).
    const method = spec.isQuery && body.length < 2_000 && random.chance(0.25) ? 'GET' : 'POST';
    return { procedure: spec.procedure, as: spec.as, method, language: random.chance(0.2) ? 'zh-CN' : 'en', field, what, body };
  });
}

interface Answer {
  status: number;
  text: string;
}

function send(agent: Agent, port: number, mutation: Mutation, credential: string): Promise<Answer> {
  const path = mutation.method === 'GET' ? `/trpc/${mutation.procedure}?input=${encodeURIComponent(mutation.body)}` : `/trpc/${mutation.procedure}`;
  const body = Buffer.from(mutation.body, 'utf8');
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: mutation.method,
        agent,
        headers: {
          authorization: `Bearer ${credential}`,
          'content-type': 'application/json',
          'accept-language': mutation.language,
          ...(mutation.method === 'POST' ? { 'content-length': String(body.length) } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(mutation.method === 'POST' ? body : undefined);
  });
}

/** What is wrong with one answer, or null when it is the refusal the battery wants. */
function judge(mutation: Mutation, answer: Answer): string | null {
  if (answer.status < 400 || answer.status >= 500) return `status ${answer.status}`;
  if (/\bat .+\.(ts|js):\d+|node_modules|select |insert into|update .+ set|sqlite|postgres|syntax error|SQLITE_/i.test(answer.text)) return 'a stack trace or SQL in the answer';
  let error: { message?: unknown; data?: { param?: unknown } };
  try {
    error = (JSON.parse(answer.text) as { error: typeof error }).error;
  } catch {
    return 'an answer that is not JSON';
  }
  const param = error?.data?.param;
  const message = error?.message;
  if (typeof param !== 'string' || typeof message !== 'string') return 'no param or message';
  if (!message.startsWith(`${param}: `)) return `a message that does not start with "${param}: "`;
  const namesField =
    param === mutation.field ||
    param.startsWith(`${mutation.field}.`) ||
    (param !== 'input' && mutation.field.startsWith(`${param}.`));
  return namesField ? null : `param "${param}" instead of "${mutation.field}"`;
}

function suite(dialect: JifenDialect) {
  const count = MUTATIONS;
  let app: TestServer;
  let shop: TestMerchant;
  let other: TestMerchant;
  let shopperToken: string;

  beforeAll(async () => {
    app = await startTestServer(dialect, { shopperRate: null });
    shop = await aMerchant(app.ledger, { merchantId: 'mut-shop' });
    other = await aMerchant(app.ledger, { merchantId: 'mut-other' });
    shopperToken = await signHmac(honestClaims(shop.merchantId, '42', app.clock.now, 3600), shop.widgetSecret);
    // Something in the ledger to protect: points, an order, a template, a coupon, a hold.
    const merchantCall = (procedure: string, input: unknown) => post(app.url, procedure, input, { token: shop.apiKey });
    const shopperCall = (procedure: string, input: unknown) => post(app.url, procedure, input, { token: shopperToken });
    const steps = [
      await merchantCall('merchant.shoppers.adjust', { shopperId: '42', points: 50_000, reason: 'seed', idempotencyKey: 'seed-1' }),
      await merchantCall('merchant.orders.paid', { orderId: 'seed-order', shopperId: '42', amount: 30_000, currency: 'CNY' }),
      await merchantCall('merchant.coupons.templates.upsert', { template: { ...aTemplate(), id: 'seed-template' } }),
      await shopperCall('shopper.coupons.exchange', { templateId: 'seed-template', idempotencyKey: 'seed-x' }),
      await shopperCall('shopper.checkout.reserve', { checkoutId: 'seed-checkout', points: 1000, cartAmount: 20_000 }),
      await post(app.url, 'merchant.orders.paid', { orderId: 'seed-order', shopperId: '42', amount: 30_000, currency: 'CNY' }, { token: other.apiKey }),
    ];
    for (const step of steps) expect(step.status, step.text).toBe(200);
  });
  afterAll(() => app.close());

  it(`answers ${count} generated mutations of valid payloads with 4xx naming the field, changing nothing`, async () => {
    const seed = seedFromEnvironment();
    const mutations = generateMutations(seed, count);
    const before = await ledgerSnapshot(app.ledger);
    const headsBefore = await app.ledger.db.selectFrom('journal_heads').selectAll().orderBy('merchant_id').execute();
    const port = new URL(app.url).port;
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let nextIndex = 0;
    try {
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (nextIndex < mutations.length) {
            const mutation = mutations[nextIndex++]!;
            const answer = await send(agent, Number(port), mutation, mutation.as === 'merchant' ? shop.apiKey : shopperToken);
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            const wrong = judge(mutation, answer);
            if (wrong !== null && failures.length < 20) {
              failures.push(`${wrong}: ${mutation.method} ${mutation.procedure} (${mutation.what}, ${mutation.language}) → ${answer.status} ${answer.text.slice(0, 240)}`);
            }
          }
        }),
      );
    } finally {
      agent.destroy();
    }
    expect(failures, `seed ${seed}; statuses ${JSON.stringify(Object.fromEntries(statuses))}\n${failures.join('\n')}`).toEqual([]);
    expect([...statuses.values()].reduce((sum, n) => sum + n, 0)).toBe(count);
    expect(await ledgerSnapshot(app.ledger)).toEqual(before);
    expect(await app.ledger.db.selectFrom('journal_heads').selectAll().orderBy('merchant_id').execute()).toEqual(headsBefore);
    for (const merchantId of [shop.merchantId, other.merchantId]) {
      const report = await verifyMerchant(app.ledger.db, merchantId);
      expect(report.violations, JSON.stringify(report)).toEqual([]);
      expect(report.chain).toBeNull();
    }
  });
}

describeEachDialect('generated mutations of valid payloads', (dialect) => suite(dialect));
