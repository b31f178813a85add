import english from '../../shared/src/kobling_shared/messages/en.json';
import danish from '../../shared/src/kobling_shared/messages/da.json';
import {reasonText, wordsFor} from '../src/words';

// The catalogue the merchant pages read is the app's too: no copy to drift.
test.each([
  ['en-US', english],
  ['da-DK', danish],
])('the view in %s says what the pages say', (locale, catalogue) => {
  const words = wordsFor(locale);
  expect(words.connect).toBe(catalogue['connection.connect']);
  expect(words.sharedWarning(2)).toBe(catalogue['connection.shared_warning'].replace('{count}', '2'));
  // Every reason the pages can give, the view gives too (it once lacked permission_refused).
  for (const [key, text] of Object.entries(catalogue).filter(([k]) => k.startsWith('reason.'))) {
    expect(reasonText(words, key.slice('reason.'.length))).toBe(text);
  }
  expect(reasonText(words, 'no_such_reason')).toBe(catalogue['reason.unknown']);
});
