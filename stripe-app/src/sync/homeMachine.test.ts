import {summaryOf} from '../../test/fakeSync';
import {homeReducer, lookupReducer} from './homeMachine';

test('the summary shows once loaded; checking again keeps it shown; a failure says so', () => {
  const shown = homeReducer({kind: 'loading'}, {type: 'loaded', summary: summaryOf('on')});
  expect(shown).toMatchObject({kind: 'shown'});
  expect(homeReducer(shown, {type: 'load'})).toBe(shown);
  expect(homeReducer(shown, {type: 'load_failed'})).toEqual({kind: 'unreachable'});
  expect(homeReducer({kind: 'unreachable'}, {type: 'load'})).toEqual({kind: 'loading'});
});

test('a payout is shown only by a payout id; anything else says what one looks like', () => {
  const empty = {text: '', error: null, shown: null};
  let state = lookupReducer(empty, {type: 'typed', text: ' in_1Paid '});
  state = lookupReducer(state, {type: 'submitted'});
  expect(state).toEqual({text: ' in_1Paid ', error: 'bad_id', shown: null});
  state = lookupReducer(state, {type: 'typed', text: ' po_1Payout '});
  expect(state.error).toBeNull();
  expect(lookupReducer(state, {type: 'submitted'})).toEqual({
    text: 'po_1Payout',
    error: null,
    shown: 'po_1Payout',
  });
  expect(lookupReducer(empty, {type: 'opened', id: 'po_2Closed'}).shown).toBe('po_2Closed');
});
