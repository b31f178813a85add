// The drawer's sync summary and its payout look-up, as pure reducers.
import type {Summary} from './api';

export type HomeState =
  | {kind: 'loading'}
  | {kind: 'unreachable'}
  | {kind: 'shown'; summary: Summary};

export type HomeEvent = {type: 'load'} | {type: 'loaded'; summary: Summary} | {type: 'load_failed'};

export const homeReducer = (state: HomeState, event: HomeEvent): HomeState => {
  switch (event.type) {
    case 'load':
      return state.kind === 'shown' ? state : {kind: 'loading'};
    case 'loaded':
      return {kind: 'shown', summary: event.summary};
    case 'load_failed':
      return {kind: 'unreachable'};
  }
};

// A payout to show: typed or pasted by the merchant, or picked from the waiting list.
export type Lookup = {text: string; error: 'bad_id' | null; shown: string | null};

export type LookupEvent =
  | {type: 'typed'; text: string}
  | {type: 'submitted'}
  | {type: 'opened'; id: string};

// Stripe's payout ids, as sync takes them (kobling_shared.app_view.OBJECT_ID).
export const PAYOUT_ID = /^po_[A-Za-z0-9]{1,255}$/;

export const lookupReducer = (state: Lookup, event: LookupEvent): Lookup => {
  switch (event.type) {
    case 'typed':
      return {...state, text: event.text, error: null};
    case 'submitted': {
      const id = state.text.trim();
      return PAYOUT_ID.test(id) ? {text: id, error: null, shown: id} : {...state, error: 'bad_id'};
    }
    case 'opened':
      return {text: event.id, error: null, shown: event.id};
  }
};
