// sync's signed view requests (services/sync: kobling_sync.view_routes) and the JSON they answer.
//
// As for status and econ-auth (../backend.ts): the view asks Stripe to sign a payload and sends
// `JSON.stringify({...payload, user_id, account_id})`, the very string Stripe signed. Each endpoint
// takes exactly its own action; the payload is {livemode, action}, plus `object_id` for an
// object's state and Replay, `settings` for a save, and a fresh `nonce` for Replay, which sync
// spends once (kobling_shared.app_view).
import fetchStripeSignature from '@stripe/ui-extension-sdk/signature';
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';

import {type Check, boolean, isProblem, nonce, nullable, object, string} from '../backend';

// The settings, in the order the settings view shows them (kobling_sync.choices.SyncChoices).
export const SETTING_NAMES = [
  'layout',
  'payment_terms',
  'customer_group',
  'vat_zone',
  'product',
  'journal',
  'bank_account',
  'clearing_account',
  'fees_account',
  'suspense_account',
  'fx_account',
  'start_date',
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];
export type ChoiceName = Exclude<SettingName, 'start_date'>;

// One of the merchant's own e-conomic items, with e-conomic's number and name. e-conomic gives a
// product's number as a string, every other as an integer.
export type Choice = {
  number: number | string;
  name: string;
  paymentTermsType?: string;
  accountType?: string;
  barred?: boolean;
  currency?: string;
};

export type Settings = Partial<Record<SettingName, number | string | null>> & {
  products?: Record<string, number | string>;
};

// kobling_sync.view_routes.SettingsView: what is saved, whether it is complete and what is
// missing, the e-conomic items per setting with suggestions, and (a 422) each setting's problem.
export type SettingsView = {
  settings: Settings;
  complete: boolean;
  missing: string[];
  choices: Partial<Record<ChoiceName, Choice[]>>;
  suggestions: Settings;
  errors: Record<string, string>;
};

export type SyncState = 'unknown' | 'pending' | 'synced' | 'needs_attention' | 'skipped';

// e-conomic's refusal as it said it (kobling_shared.events.EconomicRefusal).
export type EconomicRefusal = {
  status: number;
  message: string | null;
  error_code: string | null;
  developer_hint: string | null;
  log_id: string | null;
  errors: Record<string, string>;
};

// What a payout's voucher booked (kobling_shared.events.PayoutBookedData), minor units.
export type PayoutBooking = {
  currency: string;
  amount: number;
  fees: number;
  suspense: number;
  suspense_lines: number;
  flags: string[];
  voucher_number?: number;
};

// kobling_sync.view_routes.ObjectState: one invoice's or payout's sync.
export type ObjectState = {
  object_id: string;
  object_type: 'invoice' | 'payout' | null;
  state: SyncState;
  reason: string | null;
  step: string | null;
  customer_number: number | null;
  draft_invoice_number: number | null;
  booked_invoice_number: number | null;
  voucher_number: number | null;
  currency: string | null;
  total: number | null;
  figures: Record<string, number>;
  economic: EconomicRefusal | null;
  payout: PayoutBooking | null;
  updated_at: string | null;
};

// kobling_sync.view_routes.Summary: the drawer's home.
export type Summary = {
  enabled: boolean;
  why_off: string | null;
  synced_today: number;
  needs_attention: ObjectState[];
  last_error: ObjectState | null;
};

const STATES: readonly string[] = ['unknown', 'pending', 'synced', 'needs_attention', 'skipped'];
const number: Check = (v) => typeof v === 'number';
const record =
  (check: Check): Check =>
  (v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(check);
const list =
  (check: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(check);

const isChoice = object({number: (v) => number(v) || string(v), name: string});

export const isSettingsView = object({
  settings: record(() => true),
  complete: boolean,
  missing: list(string),
  choices: record(list(isChoice)),
  suggestions: record(() => true),
  errors: record(string),
}) as (value: unknown) => value is SettingsView;

const isPayoutBooking = object({
  currency: string,
  amount: number,
  fees: number,
  suspense: number,
  suspense_lines: number,
  flags: list(string),
});

export const isObjectState = object({
  object_id: string,
  object_type: nullable((v) => v === 'invoice' || v === 'payout'),
  state: (v) => typeof v === 'string' && STATES.includes(v),
  reason: nullable(string),
  step: nullable(string),
  customer_number: nullable(number),
  draft_invoice_number: nullable(number),
  booked_invoice_number: nullable(number),
  voucher_number: nullable(number),
  currency: nullable(string),
  total: nullable(number),
  figures: record(number),
  economic: nullable(object({status: number, message: nullable(string), errors: record(string)})),
  payout: nullable(isPayoutBooking),
  updated_at: nullable(string),
}) as (value: unknown) => value is ObjectState;

export const isSummary = object({
  enabled: boolean,
  why_off: nullable(string),
  synced_today: number,
  needs_attention: list(isObjectState),
  last_error: nullable(isObjectState),
}) as (value: unknown) => value is Summary;

// A refusal: its status, and the JSON when it is one we understand (a 422's SettingsView).
export type SyncAnswer<T> =
  | {ok: true; body: T}
  | {ok: false; status: number; rejected: SettingsView | null; message: string | null};

export type SyncCaller = {syncUrl: string; userId: string; accountId: string; livemode: boolean};

// The manifest's SYNC_URL names sync; content_security_policy.connect-src allows its /api/.
export const syncCallerOf = (context: ExtensionContextValue): SyncCaller | null => {
  const constants = context.environment.constants;
  const syncUrl =
    constants !== null && typeof constants === 'object' && !Array.isArray(constants)
      ? constants.SYNC_URL
      : undefined;
  const userId = context.userContext.id;
  if (typeof syncUrl !== 'string' || !userId) {
    return null;
  }
  return {
    syncUrl,
    userId,
    accountId: context.userContext.account.id,
    livemode: context.environment.mode === 'live',
  };
};

export type SyncAction =
  | 'sync_settings'
  | 'save_sync_settings'
  | 'sync_state'
  | 'replay'
  | 'sync_summary';

const PATH: Record<SyncAction, string> = {
  sync_settings: '/api/sync/settings',
  save_sync_settings: '/api/sync/settings/save',
  sync_state: '/api/sync/object',
  replay: '/api/sync/replay',
  sync_summary: '/api/sync/summary',
};

const ask = async <T>(
  caller: SyncCaller,
  action: SyncAction,
  extra: Record<string, unknown>,
  understood: (json: unknown) => json is T,
): Promise<SyncAnswer<T>> => {
  const payload = {livemode: caller.livemode, action, ...extra};
  const signature = await fetchStripeSignature(payload);
  // Exactly the string Stripe signed, key order included.
  const body = JSON.stringify({...payload, user_id: caller.userId, account_id: caller.accountId});
  const response = await fetch(`${caller.syncUrl}${PATH[action]}`, {
    method: 'POST',
    headers: {'Stripe-Signature': signature, 'Content-Type': 'application/json'},
    body,
  });
  const json: unknown = await response.json().catch(() => null);
  if (response.ok && understood(json)) {
    return {ok: true, body: json};
  }
  const detail = (json as {detail?: unknown} | null)?.detail;
  return {
    ok: false,
    status: response.status,
    rejected: response.status === 422 && isSettingsView(json) ? json : null,
    message: isProblem(json) ? json.message : typeof detail === 'string' ? detail : null,
  };
};

export const readSettings = (caller: SyncCaller) =>
  ask(caller, 'sync_settings', {}, isSettingsView);
export const saveSettings = (caller: SyncCaller, settings: Settings) =>
  ask(caller, 'save_sync_settings', {settings}, isSettingsView);
export const objectState = (caller: SyncCaller, objectId: string) =>
  ask(caller, 'sync_state', {object_id: objectId}, isObjectState);
// A fresh nonce: sync spends each Replay signature once, and two presses within Stripe's
// one-second timestamp would otherwise carry the same one.
export const replay = (caller: SyncCaller, objectId: string) =>
  ask(caller, 'replay', {object_id: objectId, nonce: nonce()}, isObjectState);
export const summary = (caller: SyncCaller) => ask(caller, 'sync_summary', {}, isSummary);
