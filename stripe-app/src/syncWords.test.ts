// The sync views' words: sync's codes in the merchant's words, in English and Danish, from the
// catalogue the pages read (shared/src/kobling_shared/messages).
import english from '../../shared/src/kobling_shared/messages/en.json';
import danish from '../../shared/src/kobling_shared/messages/da.json';
import {fill, syncWordsFor} from './words';

test('each code sync gives a setting is said in plain words', () => {
  const words = syncWordsFor('en-US');
  expect(words.error('not_found:99')).toBe(
    '99 is not in your e-conomic company any more. Choose another.',
  );
  expect(words.error('no_entries:1000')).toMatch(/^Account 1000 does not take entries/);
  expect(words.error('same_account_twice')).toMatch(/^Two of the accounts are the same/);
  for (const type of ['int_parsing', 'int_type', 'greater_than_equal', 'int_from_float']) {
    expect(words.error(type)).toBe('Choose one of the items in the list.');
  }
  for (const type of ['date_parsing', 'date_from_datetime_parsing', 'date_type']) {
    expect(words.error(type)).toMatch(/^Enter a date as year-month-day/);
  }
  expect(words.error('extra_forbidden')).toBe('Kobling does not know this setting.');
  expect(words.error('something_new:7')).toBe('This cannot be saved (something_new:7).');
});

test('reasons, skips, steps and payout flags each have words, and an unknown one still says something', () => {
  const words = syncWordsFor('en');
  expect(words.reason('totals_differ')).toMatch(/^e-conomic priced the invoice differently/);
  expect(words.reason('no_such_reason')).toBe('Something stopped the sync.');
  expect(words.reason(null)).toBe('Something stopped the sync.');
  expect(words.skip('before_start')).toBe(
    'It was paid before the start date in the sync settings.',
  );
  expect(words.skip('no_such_skip')).toBe('Kobling did not book it.');
  expect(words.step('draft')).toBe('the draft invoice');
  expect(words.step('new_step')).toBe('new_step');
  expect(words.flag('manual_payout_bank_line_only')).toMatch(/^A manual payout/);
  expect(words.flag('currency_txn_1')).toBe(
    'Transaction txn_1 is in another currency: check it on suspense.',
  );
  expect(words.flag('reversed_by_voucher_43')).toBe(
    'The payout failed afterwards: voucher 43 reverses it.',
  );
});

test.each([
  ['en-US', english],
  ['da-DK', danish],
])('in %s the sync views say what the catalogue says', (locale, catalogue) => {
  const words = syncWordsFor(locale);
  expect(words.save).toBe(catalogue['sync.save']);
  expect(words.field('vat_zone')).toBe(catalogue['sync.field.vat_zone']);
  expect(words.state.syncedInvoice(1001)).toBe(
    catalogue['sync.state.synced_invoice'].replace('{number}', '1001'),
  );
  expect(words.offMissing(['journal', 'start_date'])).toBe(
    catalogue['sync.off_missing'].replace(
      '{missing}',
      `${catalogue['sync.field.journal']}, ${catalogue['sync.field.start_date']}`,
    ),
  );
});

test('fill leaves a name it was not given as it is', () => {
  expect(fill('{a} and {b}', {a: 1})).toBe('1 and {b}');
});
