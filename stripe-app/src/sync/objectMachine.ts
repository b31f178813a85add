// One invoice's or payout's sync, as the invoice panel and the drawer's payout look-up show it:
// loading, what sync answered, and a Replay under way or refused. Pure.
import type {ObjectState} from './api';

export type ObjectNotice = 'replay_refused' | 'unreachable';

export type ObjectView =
  | {kind: 'loading'}
  | {kind: 'misconfigured'}
  | {kind: 'unreachable'}
  | {kind: 'shown'; object: ObjectState; replaying: boolean; notice: ObjectNotice | null};

export type ObjectEvent =
  | {type: 'misconfigured'}
  | {type: 'load'}
  | {type: 'loaded'; object: ObjectState}
  | {type: 'load_failed'}
  | {type: 'replaying'}
  | {type: 'replayed'; object: ObjectState}
  | {type: 'replay_failed'; status: number | null};

export const objectReducer = (state: ObjectView, event: ObjectEvent): ObjectView => {
  switch (event.type) {
    case 'misconfigured':
      return {kind: 'misconfigured'};
    case 'load':
      // Checking again keeps what is shown until the answer comes.
      return state.kind === 'shown' ? {...state, notice: null} : {kind: 'loading'};
    case 'loaded':
    case 'replayed':
      return {kind: 'shown', object: event.object, replaying: false, notice: null};
    case 'load_failed':
      return state.kind === 'shown' ? {...state, notice: 'unreachable'} : {kind: 'unreachable'};
    case 'replaying':
      return state.kind === 'shown' ? {...state, replaying: true, notice: null} : state;
    case 'replay_failed':
      if (state.kind !== 'shown') {
        return state;
      }
      // 409: this signed Replay was spent already; anything else: sync did not answer.
      return {
        ...state,
        replaying: false,
        notice: event.status === null || event.status >= 500 ? 'unreachable' : 'replay_refused',
      };
  }
};

// Replay resumes an object waiting for the merchant from its first unfinished step.
export const mayReplay = (object: ObjectState): boolean => object.state === 'needs_attention';

// The figures that are amounts (minor units of the object's currency); the rest are numbers.
const MONEY: readonly string[] = [
  'stripe_gross',
  'economic_gross',
  'stripe_vat',
  'economic_vat',
  'total',
  'amount_paid',
];

export type Figure = {name: string; value: number; money: boolean};

// The figures a waiting object carries, amounts first in the order the gate compares them (the
// totals, then the VAT); a status code from Stripe is sync's, not the merchant's, and is left out.
export const figuresOf = (object: ObjectState): Figure[] =>
  Object.entries(object.figures)
    .filter(([name]) => name !== 'status')
    .map(([name, value]) => ({name, value, money: MONEY.includes(name)}))
    .sort((a, b) => rank(a.name) - rank(b.name));

const rank = (name: string): number => {
  const at = MONEY.indexOf(name);
  return at === -1 ? MONEY.length : at;
};
