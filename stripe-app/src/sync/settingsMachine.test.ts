import {saveAnswer, settingsView} from '../../test/fakeSync';
import {type SettingsState, draftOf, settingsOf, settingsReducer} from './settingsMachine';

const editing = (name: Parameters<typeof settingsView>[0]) => {
  const state = settingsReducer({kind: 'loading'}, {type: 'loaded', view: settingsView(name)});
  if (state.kind !== 'editing') {
    throw new Error(state.kind);
  }
  return state;
};

test('nothing saved: each setting sync suggests is preselected and marked suggested', () => {
  const state = editing('fresh');
  // A card payment term, the domestic VAT zone, the first of the rest, today (sync's picks).
  expect(state.draft).toMatchObject({
    payment_terms: '5',
    vat_zone: '1',
    layout: '19',
    journal: '1',
    start_date: '2026-11-23',
    bank_account: '',
  });
  expect(state.suggested).toEqual(
    expect.arrayContaining(['payment_terms', 'vat_zone', 'layout', 'start_date']),
  );
  expect(state.notice).toBeNull();
});

test('what is saved wins over a suggestion, and is not marked suggested', () => {
  const {draft, suggested} = draftOf(settingsView('partial'));
  expect(draft.layout).toBe('19');
  expect(suggested).not.toContain('layout');
  expect(suggested).toContain('journal');
});

test("a save sends e-conomic's numbers as e-conomic gives them, nothing picked as null", () => {
  const state = editing('partial');
  const settings = settingsOf(state.view, {...state.draft, bank_account: '5820', fx_account: ''});
  expect(settings).toMatchObject({layout: 19, bank_account: 5820, fx_account: null});
  expect(settings.start_date).toBe('2026-11-23');
  expect(settings.products).toEqual({});
  const withStringProducts = {
    ...state.view,
    choices: {...state.view.choices, product: [{number: 'P-1', name: 'Abonnement'}]},
  };
  expect(settingsOf(withStringProducts, {...state.draft, product: 'P-1'}).product).toBe('P-1');
});

test('changing a setting clears its error, and an account clears "same account twice"', () => {
  let state: SettingsState = editing('complete');
  state = settingsReducer(state, {type: 'saving'});
  state = settingsReducer(state, {
    type: 'rejected',
    errors: saveAnswer('refused_by_economic').errors,
  });
  expect(state).toMatchObject({saving: false, notice: 'invalid'});
  state = settingsReducer(state, {type: 'changed', name: 'suspense_account', value: '5840'});
  expect(state.kind === 'editing' && state.errors).toEqual({
    layout: 'not_found:99',
    fees_account: 'no_entries:1000',
  });
  expect(state.kind === 'editing' && state.notice).toBeNull();
});

test('a save answers complete or not; the choices read before stay', () => {
  let state: SettingsState = editing('fresh');
  state = settingsReducer(state, {type: 'saved', view: saveAnswer('saved_partial')});
  expect(state).toMatchObject({notice: 'saved_incomplete', suggested: [], saving: false});
  expect(state.kind === 'editing' && state.view.missing).toContain('start_date');
  expect(state.kind === 'editing' && state.view.choices.layout).toHaveLength(2);
  state = settingsReducer(state, {type: 'saved', view: saveAnswer('saved')});
  expect(state).toMatchObject({notice: 'saved'});
  expect(state.kind === 'editing' && state.view.complete).toBe(true);
});

test('not connected (409) asks to connect first; any other failure is "unreachable"', () => {
  expect(settingsReducer({kind: 'loading'}, {type: 'load_failed', status: 409})).toEqual({
    kind: 'connect_first',
  });
  expect(settingsReducer({kind: 'loading'}, {type: 'load_failed', status: null})).toEqual({
    kind: 'unreachable',
  });
  const state = settingsReducer(editing('complete'), {type: 'save_failed', status: 409});
  expect(state).toMatchObject({kind: 'editing', notice: 'connect_first'});
  expect(settingsReducer(editing('complete'), {type: 'save_failed', status: 502})).toMatchObject({
    notice: 'unreachable',
  });
});

test('an edit before anything is loaded changes nothing', () => {
  const loading: SettingsState = {kind: 'loading'};
  expect(settingsReducer(loading, {type: 'changed', name: 'layout', value: '19'})).toBe(loading);
});
