// Kobling's backend as the view sees it: three signed requests and the JSON they answer.
//
// Every request carries `Stripe-Signature` from fetchStripeSignature({livemode, action}). Stripe
// signs `JSON.stringify({...payload, user_id, account_id})`: those two fields, then the Dashboard
// user and account. The body is that very string, and the backend verifies its bytes before it
// reads the mode and the action the signature was made for (README: "The signed view request").
import fetchStripeSignature from '@stripe/ui-extension-sdk/signature';
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';

export type Action =
  | 'status'
  | 'connect'
  | 'disconnect'
  | 'approve_join'
  | 'refuse_join'
  | 'cancel_join';

// The status service's JSON (services/status: AccountStatus through merchant_view). The fixtures in
// test/fixtures/backend.json are generated from that model; tests/unit/test_stripe_app_fixtures.py
// fails when the two drift apart.
export type EconomicState = 'not_connected' | 'connected' | 'failed' | 'disconnected';

// This account's connection to a company another Stripe account is connected to, waiting for
// that account's approval (never naming it).
export type AwaitingConsent = {agreement_number: number; company_name: string; expires_at: string};

// Another Stripe account asks to join the company this account is connected to.
export type JoinRequest = {
  account_id: string;
  livemode: boolean;
  account_name: string | null; // the name Stripe knows it by, when known
  agreement_number: number;
  company_name: string;
  requested_at: string;
  expires_at: string;
};

export type AccountStatus = {
  account_id: string;
  livemode: boolean;
  updated_at: string;
  stripe: {installed: boolean; installed_at: string | null; uninstalled_at: string | null};
  economic: {
    state: EconomicState;
    since: string | null;
    agreement_number: number | null;
    company_name: string | null;
    company_identification_number: string | null; // CVR for a Danish company
    vat_number: string | null; // Swedish agreements only
    user_name: string | null;
    connected_at: string | null;
    reason: string | null;
    warning: string | null;
    shared_with_count: number;
    developer_agreement: boolean;
    // Absent from a backend older than joins (issue 23, item 6).
    awaiting_consent?: AwaitingConsent | null;
    join_requests?: JoinRequest[];
  };
};

const STATES: readonly string[] = ['not_connected', 'connected', 'failed', 'disconnected'];

export type Check = (value: unknown) => boolean;
export const string: Check = (v) => typeof v === 'string';
export const boolean: Check = (v) => typeof v === 'boolean';
const number: Check = (v) => typeof v === 'number';
export const nullable =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
const list =
  (check: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(check);
export const object =
  (fields: Record<string, Check>): Check =>
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    Object.entries(fields).every(([key, check]) => check((v as Record<string, unknown>)[key]));

// The view renders only a status it understands: an answer of another shape is an error, not a
// blank screen. The app's tests hold every fixture to this check.
export const isAccountStatus = object({
  account_id: string,
  livemode: boolean,
  updated_at: string,
  stripe: object({
    installed: boolean,
    installed_at: nullable(string),
    uninstalled_at: nullable(string),
  }),
  economic: object({
    state: (v) => typeof v === 'string' && STATES.includes(v),
    since: nullable(string),
    agreement_number: nullable((v) => typeof v === 'number'),
    company_name: nullable(string),
    company_identification_number: nullable(string),
    vat_number: nullable(string),
    user_name: nullable(string),
    connected_at: nullable(string),
    reason: nullable(string),
    warning: nullable(string),
    shared_with_count: (v) => typeof v === 'number',
    developer_agreement: boolean,
    awaiting_consent: optional(
      nullable(object({agreement_number: number, company_name: string, expires_at: string})),
    ),
    join_requests: optional(
      list(
        object({
          account_id: string,
          livemode: boolean,
          account_name: nullable(string),
          agreement_number: number,
          company_name: string,
          requested_at: string,
          expires_at: string,
        }),
      ),
    ),
  }),
}) as (value: unknown) => value is AccountStatus;

// econ-auth's answers (services/econ-auth routes: ConnectLink, Disconnected; consent_routes:
// Answered).
export type ConnectLink = {url: string; expires_at: string};
export type Disconnected = {state: 'disconnected'; changed: boolean; message: string};
export type Answered = {outcome: string; message: string};

// Our refusals: a stable code and a sentence safe to show.
export type Problem = {error: string; message: string};

export type Answer<T> =
  | {ok: true; body: T}
  | {ok: false; status: number; problem: Problem | null};

export type Backend = {statusUrl: string; econAuthUrl: string};

// The manifest's `constants` name the backend; content_security_policy.connect-src must allow them.
export const backendOf = (environment: ExtensionContextValue['environment']): Backend | null => {
  const constants = environment.constants;
  if (constants === null || typeof constants !== 'object' || Array.isArray(constants)) {
    return null;
  }
  const {STATUS_URL: statusUrl, ECON_AUTH_URL: econAuthUrl} = constants;
  if (typeof statusUrl !== 'string' || typeof econAuthUrl !== 'string') {
    return null;
  }
  return {statusUrl, econAuthUrl};
};

const ENDPOINT: Record<Action, (backend: Backend) => string> = {
  status: (backend) => `${backend.statusUrl}/api/status`,
  connect: (backend) => `${backend.econAuthUrl}/api/connect-link`,
  disconnect: (backend) => `${backend.econAuthUrl}/api/disconnect`,
  approve_join: (backend) => `${backend.econAuthUrl}/api/join/approve`,
  refuse_join: (backend) => `${backend.econAuthUrl}/api/join/refuse`,
  cancel_join: (backend) => `${backend.econAuthUrl}/api/join/cancel`,
};

export type Caller = {
  backend: Backend;
  userId: string;
  accountId: string;
  livemode: boolean;
};

export const callerOf = (context: ExtensionContextValue): Caller | null => {
  const backend = backendOf(context.environment);
  const userId = context.userContext.id;
  if (backend === null || !userId) {
    return null;
  }
  return {
    backend,
    userId,
    accountId: context.userContext.account.id,
    livemode: context.environment.mode === 'live',
  };
};

// Whose request to join an approval or refusal answers: in what Stripe signs, so it cannot be
// changed on the way.
type Waiting = {waiting_account: string; waiting_livemode: boolean};

const ask = async <T>(
  caller: Caller,
  action: Action,
  understood: (json: unknown) => json is T,
  waiting: Waiting | null = null,
): Promise<Answer<T>> => {
  // Stripe dates a signature in whole seconds, and econ-auth spends every signature but the
  // status read once (a captured one cannot act again): without a nonce, a second click within
  // the same second would carry the first one's signature and be refused as a replay.
  const payload: Record<string, boolean | string> =
    action === 'status'
      ? {livemode: caller.livemode, action}
      : {livemode: caller.livemode, action, nonce: nonce(), ...(waiting ?? {})};
  const signature = await fetchStripeSignature(payload);
  // Exactly the string Stripe signed, key order included: any other bytes fail the signature.
  const body = JSON.stringify({...payload, user_id: caller.userId, account_id: caller.accountId});
  const response = await fetch(ENDPOINT[action](caller.backend), {
    method: 'POST',
    headers: {'Stripe-Signature': signature, 'Content-Type': 'application/json'},
    body,
  });
  const json: unknown = await response.json().catch(() => null);
  if (response.ok && understood(json)) {
    return {ok: true, body: json};
  }
  const problem = isProblem(json) ? json : null;
  return {ok: false, status: response.status, problem};
};

// 128 random bits as hex: the Web Crypto API, which Stripe's extension runtime and Node share.
export const nonce = (): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join('');

export const isProblem = (json: unknown): json is Problem =>
  typeof json === 'object' &&
  json !== null &&
  typeof (json as Problem).error === 'string' &&
  typeof (json as Problem).message === 'string';

const isConnectLink = object({url: string, expires_at: string}) as (
  value: unknown,
) => value is ConnectLink;
const isDisconnected = object({state: string, changed: boolean, message: string}) as (
  value: unknown,
) => value is Disconnected;

export const fetchStatus = (caller: Caller) => ask(caller, 'status', isAccountStatus);
export const mintConnectLink = (caller: Caller) => ask(caller, 'connect', isConnectLink);
export const disconnect = (caller: Caller) => ask(caller, 'disconnect', isDisconnected);

const isAnswered = object({outcome: string, message: string}) as (
  value: unknown,
) => value is Answered;
const waitingOf = (request: JoinRequest): Waiting => ({
  waiting_account: request.account_id,
  waiting_livemode: request.livemode,
});
export const approveJoin = (caller: Caller, request: JoinRequest) =>
  ask(caller, 'approve_join', isAnswered, waitingOf(request));
export const refuseJoin = (caller: Caller, request: JoinRequest) =>
  ask(caller, 'refuse_join', isAnswered, waitingOf(request));
export const cancelJoin = (caller: Caller) => ask(caller, 'cancel_join', isAnswered);
