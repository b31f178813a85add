// The sync settings' state machine, pure: what sync answered, what the merchant has picked, and
// what a save said. The view (SyncSettings.tsx) only renders a state and dispatches events.
import {type Settings, type SettingName, type SettingsView, SETTING_NAMES} from './api';

// Per setting, the picked item's number as a string ('' for none), as a Select holds it.
export type Draft = Record<SettingName, string>;

export type Notice = 'saved' | 'saved_incomplete' | 'invalid' | 'unreachable' | 'connect_first';

export type SettingsState =
  | {kind: 'loading'}
  | {kind: 'misconfigured'}
  | {kind: 'connect_first'}
  | {kind: 'unreachable'}
  | {
      kind: 'editing';
      view: SettingsView;
      draft: Draft;
      // Settings preselected from sync's suggestions, not yet saved.
      suggested: SettingName[];
      errors: Record<string, string>;
      saving: boolean;
      notice: Notice | null;
    };

export type SettingsEvent =
  | {type: 'misconfigured'}
  | {type: 'load'}
  | {type: 'loaded'; view: SettingsView}
  | {type: 'load_failed'; status: number | null}
  | {type: 'changed'; name: SettingName; value: string}
  | {type: 'saving'}
  | {type: 'saved'; view: SettingsView}
  | {type: 'rejected'; errors: Record<string, string>}
  | {type: 'save_failed'; status: number | null};

const ACCOUNTS: readonly string[] = [
  'bank_account',
  'clearing_account',
  'fees_account',
  'suspense_account',
  'fx_account',
];

const text = (value: unknown): string =>
  value === null || value === undefined ? '' : String(value);

// What is saved, else what sync suggests (a card or cash payment term, the domestic VAT zone,
// the first of the rest, today).
export const draftOf = (view: SettingsView): {draft: Draft; suggested: SettingName[]} => {
  const suggested: SettingName[] = [];
  const draft = Object.fromEntries(
    SETTING_NAMES.map((name) => {
      const saved = text(view.settings[name]);
      const suggestion = text(view.suggestions[name]);
      if (saved === '' && suggestion !== '') {
        suggested.push(name);
      }
      return [name, saved || suggestion];
    }),
  ) as Draft;
  return {draft, suggested};
};

// What a save sends: each pick as e-conomic numbers it (an integer, a product's string), the
// start date as YYYY-MM-DD, nothing picked as null, and the product map as it was saved.
export const settingsOf = (view: SettingsView, draft: Draft): Settings => {
  const settings: Settings = {};
  for (const name of SETTING_NAMES) {
    const value = draft[name];
    if (value === '') {
      settings[name] = null;
    } else if (name === 'start_date') {
      settings[name] = value;
    } else {
      const item = (view.choices[name] ?? []).find((choice) => String(choice.number) === value);
      settings[name] =
        item !== undefined ? item.number : /^\d+$/.test(value) ? Number(value) : value;
    }
  }
  settings.products = view.settings.products ?? {};
  return settings;
};

const failed = (status: number | null): SettingsState =>
  status === 409 ? {kind: 'connect_first'} : {kind: 'unreachable'};

export const settingsReducer = (state: SettingsState, event: SettingsEvent): SettingsState => {
  switch (event.type) {
    case 'misconfigured':
      return {kind: 'misconfigured'};
    case 'load':
      return {kind: 'loading'};
    case 'loaded':
      return {
        kind: 'editing',
        view: event.view,
        ...draftOf(event.view),
        errors: {},
        saving: false,
        notice: null,
      };
    case 'load_failed':
      return failed(event.status);
    default:
      break;
  }
  if (state.kind !== 'editing') {
    return state;
  }
  switch (event.type) {
    case 'changed': {
      const errors = {...state.errors};
      delete errors[event.name];
      if (ACCOUNTS.includes(event.name)) {
        delete errors.accounts;
      }
      return {
        ...state,
        draft: {...state.draft, [event.name]: event.value},
        suggested: state.suggested.filter((name) => name !== event.name),
        errors,
        notice: null,
      };
    }
    case 'saving':
      return {...state, saving: true, notice: null};
    case 'saved':
      return {
        ...state,
        // A save answers what is saved and whether it is complete; the choices stay as read.
        view: {
          ...state.view,
          settings: event.view.settings,
          complete: event.view.complete,
          missing: event.view.missing,
        },
        suggested: [],
        errors: {},
        saving: false,
        notice: event.view.complete ? 'saved' : 'saved_incomplete',
      };
    case 'rejected':
      return {...state, errors: event.errors, saving: false, notice: 'invalid'};
    case 'save_failed':
      return {
        ...state,
        saving: false,
        notice: event.status === 409 ? 'connect_first' : 'unreachable',
      };
  }
};
