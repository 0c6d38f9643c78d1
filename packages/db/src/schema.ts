import type { Insertable, Selectable, Updateable } from 'kysely';

/**
 * The ledger's tables as Kysely sees them (SPEC §4; created by `migrations/0001-ledger.ts`).
 * Columns are snake_case as stored. Every 64-bit integer (amounts, point units, sequence numbers
 * and `*_at` epoch milliseconds) reads as a JS `number` on both engines: `createDb` parses
 * Postgres' int8 and refuses any value beyond ±(2^53 − 1) rather than rounding it. JSON columns
 * are `text`; booleans are integer 0/1 (`rows.ts` turns both into domain values).
 */

/** Epoch milliseconds (UTC). */
type EpochMs = number;
/** Integer 0 or 1, the one boolean encoding in both dialects. */
type Flag = 0 | 1;

export type OrderStatus = 'paid' | 'completed' | 'cancelled';
export type EarnedStatus = 'none' | 'pending' | 'available' | 'cancelled';
export type LotSource = 'order' | 'review' | 'share' | 'checkin' | 'referral' | 'adjustment' | 'restore';
export type LotStatus = 'pending' | 'available' | 'expired' | 'cancelled';
export type HoldStatus = 'held' | 'captured' | 'released' | 'expired';
export type CouponSource = 'exchange' | 'capout';
export type CouponStatus = 'issued' | 'redeemed' | 'cancelled' | 'expired';

export interface MerchantsTable {
  id: string;
  name: string;
  widget_secret: string;
  /** JSON array of origins allowed to embed the widgets. */
  storefront_origins: string;
  webhook_url: string | null;
  webhook_secret: string | null;
  program_version: number;
  created_at: EpochMs;
}

export interface ApiKeysTable {
  id: string;
  merchant_id: string;
  key_hash: string;
  key_prefix: string;
  created_at: EpochMs;
  revoked_at: EpochMs | null;
}

export interface ProgramVersionsTable {
  merchant_id: string;
  version: number;
  /** The validated program as JSON. */
  config: string;
  created_at: EpochMs;
}

export interface JournalHeadsTable {
  merchant_id: string;
  seq: number;
  hash: string;
}

export interface JournalTable {
  merchant_id: string;
  seq: number;
  shopper_id: string | null;
  kind: string;
  /** Signed delta of the shopper's points. */
  points: number;
  /** Signed money delta (pool contribution or payout), 0 otherwise. */
  amount: number;
  /** The order, refund, hold or coupon id the entry belongs to. */
  ref: string;
  lot_id: string | null;
  /** The seq of the entry this one compensates. */
  compensates: number | null;
  program_version: number;
  /** Canonical JSON, part of the hashed encoding. */
  detail: string;
  created_at: EpochMs;
  prev_hash: string;
  hash: string;
}

export interface ShoppersTable {
  merchant_id: string;
  shopper_id: string;
  created_at: EpochMs;
  is_vip: Flag;
  referred_by: string | null;
  referral_rewarded: Flag;
  first_paid_at: EpochMs | null;
  available: number;
  pending: number;
  held: number;
  debt: number;
  tier_id: string;
  tier_confirmed_at: EpochMs;
  checkin_date: string | null;
  checkin_streak: number;
  capout_basis: number;
  /** The indexed price key at which this holder's cap-out fires. */
  capout_trigger: number | null;
  completed_referrals: number;
  flagged: Flag;
}

/**
 * Every column of `shoppers` by name, for reads of the whole row. A prepared query names its columns
 * rather than `select *`: Postgres keeps a named statement's result columns, and a column added by
 * a migration while a server runs would fail its next run (pg-statements.ts). The type refuses a
 * list that leaves a column out.
 */
export const SHOPPER_COLUMNS = allColumns<ShoppersTable>()([
  'merchant_id',
  'shopper_id',
  'created_at',
  'is_vip',
  'referred_by',
  'referral_rewarded',
  'first_paid_at',
  'available',
  'pending',
  'held',
  'debt',
  'tier_id',
  'tier_confirmed_at',
  'checkin_date',
  'checkin_streak',
  'capout_basis',
  'capout_trigger',
  'completed_referrals',
  'flagged',
]);

function allColumns<Table>() {
  return <const Columns extends ReadonlyArray<keyof Table & string>>(
    columns: Columns & (Exclude<keyof Table, Columns[number]> extends never ? unknown : { missing: Exclude<keyof Table, Columns[number]> }),
  ): Columns => columns;
}

export interface OrdersTable {
  merchant_id: string;
  order_id: string;
  shopper_id: string;
  status: OrderStatus;
  amount: number;
  currency: string;
  /** JSON array of order lines. */
  items: string;
  shipping: number;
  tax: number;
  /** JSON array of coupon codes. */
  coupon_codes: string;
  hold_id: string | null;
  paid_at: EpochMs;
  completed_at: EpochMs | null;
  cancelled_at: EpochMs | null;
  eligible_amount: number;
  earned_points: number;
  earned_status: EarnedStatus;
  points_paid: number;
  points_paid_value: number;
  refunded_amount: number;
  clawed_back: number;
  restored_points: number;
  pool_contribution: number;
  minted: number;
  program_version: number;
  payload_hash: string;
  /**
   * The paid event's first answer, as an idempotency record stores it (`{"request":…,"result":…}`,
   * canonical): a replay of `merchant.orders.paid` answers from here. Null for orders paid before
   * migration 0004, whose answer is in their idempotency record.
   */
  paid_response: string | null;
}

export interface OrderEventsTable {
  merchant_id: string;
  event_id: string;
  order_id: string;
  kind: string;
  payload: string;
  payload_hash: string;
  received_at: EpochMs;
  applied_at: EpochMs | null;
}

export interface RefundsTable {
  merchant_id: string;
  refund_id: string;
  order_id: string;
  amount: number;
  points_clawed: number;
  points_restored: number;
  debt_added: number;
  created_at: EpochMs;
  payload_hash: string;
}

export interface LotsTable {
  id: string;
  merchant_id: string;
  shopper_id: string;
  source: LotSource;
  source_ref: string;
  program_version: number;
  points: number;
  remaining: number;
  held: number;
  status: LotStatus;
  earned_at: EpochMs;
  available_at: EpochMs;
  expires_at: EpochMs | null;
  release_periods: number;
  release_period_days: number;
  released: number;
  /** When a vesting lot next releases a portion; null once nothing is left to release (migration 0002). */
  release_next_at: EpochMs | null;
}

export interface HoldsTable {
  merchant_id: string;
  hold_id: string;
  shopper_id: string;
  checkout_id: string;
  points: number;
  value: number;
  cart_amount: number;
  status: HoldStatus;
  created_at: EpochMs;
  expires_at: EpochMs;
  resolved_at: EpochMs | null;
  order_id: string | null;
  payload_hash: string;
  /** When the merchant approved a flagged shopper's redemption; null if not (migration 0002). */
  approved_at: EpochMs | null;
}

export interface HoldLotsTable {
  merchant_id: string;
  hold_id: string;
  lot_id: string;
  points: number;
}

export interface CouponTemplatesTable {
  merchant_id: string;
  template_id: string;
  /** The validated template as JSON. */
  config: string;
  points_cost: number;
  /** Null: unlimited stock. */
  stock_total: number | null;
  issued: number;
  per_shopper_limit: number | null;
  active_from: EpochMs | null;
  active_to: EpochMs | null;
  created_at: EpochMs;
  updated_at: EpochMs;
}

export interface CouponsTable {
  merchant_id: string;
  code: string;
  template_id: string | null;
  shopper_id: string;
  source: CouponSource;
  status: CouponStatus;
  points_cost: number;
  value: number;
  idempotency_key: string | null;
  issued_at: EpochMs;
  expires_at: EpochMs | null;
  redeemed_at: EpochMs | null;
  order_id: string | null;
  /** The redemption's goods and shipping (minor units) and the discount it took (migration 0005; null before it). */
  redeemed_amount: number | null;
  redeemed_shipping: number | null;
  redeemed_discount: number | null;
}

export interface PoolStateTable {
  merchant_id: string;
  amount: number;
  supply: number;
  contributions: number;
  payouts: number;
  minted: number;
  burned: number;
  updated_at: EpochMs;
}

export interface PoolHistoryTable {
  merchant_id: string;
  journal_seq: number;
  at: EpochMs;
  amount: number;
  supply: number;
}

export interface BudgetMonthsTable {
  merchant_id: string;
  /** 'YYYY-MM' in the merchant's zone. */
  month: string;
  gmv: number;
  issued_value: number;
  shortfall_value: number;
}

export interface ShopperDaysTable {
  merchant_id: string;
  shopper_id: string;
  /** 'YYYY-MM-DD' in the merchant's zone. */
  day: string;
  earned_points: number;
}

export interface OutboxTable {
  id: string;
  merchant_id: string;
  kind: string;
  dedupe_key: string;
  payload: string;
  created_at: EpochMs;
  next_attempt_at: EpochMs;
  attempts: number;
  delivered_at: EpochMs | null;
  last_error: string | null;
}

export interface IdempotencyTable {
  merchant_id: string;
  scope: string;
  key: string;
  request_hash: string;
  /** The first response, replayed as is. */
  response: string;
  created_at: EpochMs;
}

export interface Database {
  merchants: MerchantsTable;
  api_keys: ApiKeysTable;
  program_versions: ProgramVersionsTable;
  journal_heads: JournalHeadsTable;
  journal: JournalTable;
  shoppers: ShoppersTable;
  orders: OrdersTable;
  order_events: OrderEventsTable;
  refunds: RefundsTable;
  lots: LotsTable;
  holds: HoldsTable;
  hold_lots: HoldLotsTable;
  coupon_templates: CouponTemplatesTable;
  coupons: CouponsTable;
  pool_state: PoolStateTable;
  pool_history: PoolHistoryTable;
  budget_months: BudgetMonthsTable;
  shopper_days: ShopperDaysTable;
  outbox: OutboxTable;
  idempotency: IdempotencyTable;
}

export type TableName = keyof Database;

export type MerchantRow = Selectable<MerchantsTable>;
export type NewMerchantRow = Insertable<MerchantsTable>;
export type MerchantUpdate = Updateable<MerchantsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKeyRow = Insertable<ApiKeysTable>;
export type ProgramVersionRow = Selectable<ProgramVersionsTable>;
export type NewProgramVersionRow = Insertable<ProgramVersionsTable>;
export type JournalHeadRow = Selectable<JournalHeadsTable>;
export type NewJournalHeadRow = Insertable<JournalHeadsTable>;
export type JournalRow = Selectable<JournalTable>;
export type NewJournalRow = Insertable<JournalTable>;
export type ShopperRow = Selectable<ShoppersTable>;
export type NewShopperRow = Insertable<ShoppersTable>;
export type ShopperUpdate = Updateable<ShoppersTable>;
export type OrderRow = Selectable<OrdersTable>;
export type NewOrderRow = Insertable<OrdersTable>;
export type OrderUpdate = Updateable<OrdersTable>;
export type OrderEventRow = Selectable<OrderEventsTable>;
export type NewOrderEventRow = Insertable<OrderEventsTable>;
export type RefundRow = Selectable<RefundsTable>;
export type NewRefundRow = Insertable<RefundsTable>;
export type LotRow = Selectable<LotsTable>;
export type NewLotRow = Insertable<LotsTable>;
export type LotUpdate = Updateable<LotsTable>;
export type HoldRow = Selectable<HoldsTable>;
export type NewHoldRow = Insertable<HoldsTable>;
export type HoldUpdate = Updateable<HoldsTable>;
export type HoldLotRow = Selectable<HoldLotsTable>;
export type NewHoldLotRow = Insertable<HoldLotsTable>;
export type CouponTemplateRow = Selectable<CouponTemplatesTable>;
export type NewCouponTemplateRow = Insertable<CouponTemplatesTable>;
export type CouponTemplateUpdate = Updateable<CouponTemplatesTable>;
export type CouponRow = Selectable<CouponsTable>;
export type NewCouponRow = Insertable<CouponsTable>;
export type CouponUpdate = Updateable<CouponsTable>;
export type PoolStateRow = Selectable<PoolStateTable>;
export type NewPoolStateRow = Insertable<PoolStateTable>;
export type PoolStateUpdate = Updateable<PoolStateTable>;
export type PoolHistoryRow = Selectable<PoolHistoryTable>;
export type NewPoolHistoryRow = Insertable<PoolHistoryTable>;
export type BudgetMonthRow = Selectable<BudgetMonthsTable>;
export type NewBudgetMonthRow = Insertable<BudgetMonthsTable>;
export type ShopperDayRow = Selectable<ShopperDaysTable>;
export type NewShopperDayRow = Insertable<ShopperDaysTable>;
export type OutboxRow = Selectable<OutboxTable>;
export type NewOutboxRow = Insertable<OutboxTable>;
export type OutboxUpdate = Updateable<OutboxTable>;
export type IdempotencyRow = Selectable<IdempotencyTable>;
export type NewIdempotencyRow = Insertable<IdempotencyTable>;
