import { sql } from 'kysely';
import { type NewCouponTemplateRow, type NewLotRow, type NewMerchantRow, type NewPoolStateRow, prepareQuery } from '../src';

const NOW = Date.UTC(2025, 0, 15, 12);

export function aMerchant(overrides: Partial<NewMerchantRow> = {}): NewMerchantRow {
  return {
    id: 'm_demo',
    name: 'Demo shop',
    widget_secret: 'widget-secret',
    storefront_origins: '["https://shop.example"]',
    program_version: 1,
    created_at: NOW,
    ...overrides,
  };
}

export function aPoolState(overrides: Partial<NewPoolStateRow> = {}): NewPoolStateRow {
  return {
    merchant_id: 'm_demo',
    amount: 0,
    supply: 0,
    contributions: 0,
    payouts: 0,
    minted: 0,
    burned: 0,
    updated_at: NOW,
    ...overrides,
  };
}

export function aLot(overrides: Partial<NewLotRow> = {}): NewLotRow {
  return {
    id: 'lot_1',
    merchant_id: 'm_demo',
    shopper_id: 'shopper_1',
    source: 'order',
    source_ref: 'order_1',
    program_version: 1,
    points: 100,
    remaining: 100,
    held: 0,
    status: 'available',
    earned_at: NOW,
    available_at: NOW,
    expires_at: NOW + 365 * 86_400_000,
    release_periods: 1,
    release_period_days: 0,
    released: 100,
    ...overrides,
  };
}

export function aCouponTemplate(overrides: Partial<NewCouponTemplateRow> = {}): NewCouponTemplateRow {
  return {
    merchant_id: 'm_demo',
    template_id: 'tpl_10_off',
    config: '{"kind":"fixed","value":1000}',
    points_cost: 500,
    stock_total: 10,
    issued: 0,
    created_at: NOW,
    updated_at: NOW,
    ...overrides,
  };
}

/** Prepared statements the tests run on both engines: a merchant's name, a lot's remaining points. */
export const renameMerchant = prepareQuery((db, change: { id: string; name: string }) => db.updateTable('merchants').set({ name: change.name }).where('id', '=', change.id));
export const spendLot = prepareQuery((db, spend: { id: string; points: number }) =>
  db
    .updateTable('lots')
    .set({ remaining: sql<number>`remaining - ${spend.points}` })
    .where('id', '=', spend.id),
);
