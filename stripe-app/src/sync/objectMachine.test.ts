import {objectOf, replayed} from '../../test/fakeSync';
import {type ObjectView, figuresOf, mayReplay, objectReducer} from './objectMachine';

const shown = (name: Parameters<typeof objectOf>[0]): ObjectView =>
  objectReducer({kind: 'loading'}, {type: 'loaded', object: objectOf(name)});

test('loaded shows the object; a Replay shows the state it came back with', () => {
  let state = shown('totals_differ');
  state = objectReducer(state, {type: 'replaying'});
  expect(state).toMatchObject({kind: 'shown', replaying: true});
  state = objectReducer(state, {type: 'replayed', object: replayed()});
  expect(state).toMatchObject({kind: 'shown', replaying: false, notice: null});
  expect(state.kind === 'shown' && state.object.state).toBe('synced');
});

test('a Replay refused (409, spent) or unanswered says which, and keeps the object shown', () => {
  const waiting = objectReducer(shown('totals_differ'), {type: 'replaying'});
  expect(objectReducer(waiting, {type: 'replay_failed', status: 409})).toMatchObject({
    notice: 'replay_refused',
    replaying: false,
  });
  expect(objectReducer(waiting, {type: 'replay_failed', status: null})).toMatchObject({
    notice: 'unreachable',
  });
});

test('checking again keeps what is shown; a failure then is a notice, not a blank panel', () => {
  const state = objectReducer(shown('pending'), {type: 'load'});
  expect(state.kind).toBe('shown');
  expect(objectReducer(state, {type: 'load_failed'})).toMatchObject({notice: 'unreachable'});
  expect(objectReducer({kind: 'loading'}, {type: 'load_failed'})).toEqual({kind: 'unreachable'});
});

test('only an object that needs attention offers Replay', () => {
  expect(mayReplay(objectOf('totals_differ'))).toBe(true);
  expect(mayReplay(objectOf('economic_refused'))).toBe(true);
  for (const name of ['unknown', 'pending', 'synced', 'skipped', 'payout_booked'] as const) {
    expect(mayReplay(objectOf(name))).toBe(false);
  }
});

test("the totals gate's figures: amounts first, in the order compared, then the draft's number", () => {
  expect(figuresOf(objectOf('totals_differ'))).toEqual([
    {name: 'stripe_gross', value: 125000, money: true},
    {name: 'economic_gross', value: 100000, money: true},
    {name: 'stripe_vat', value: 25000, money: true},
    {name: 'economic_vat', value: 0, money: true},
    {name: 'draft_invoice_number', value: 7, money: false},
  ]);
  expect(figuresOf({...objectOf('synced'), figures: {status: 403}})).toEqual([]);
});
