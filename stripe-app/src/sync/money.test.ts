import {exponent, money} from './money';

// Intl separates the currency from the amount with a no-break space; the merchant sees a space.
const shown = (minor: number, currency: string, locale: string) =>
  money(minor, currency, locale).replace(/\u00a0/g, ' ');

test("two-decimal currencies are minor units / 100, in the merchant's locale", () => {
  expect(shown(125000, 'dkk', 'en-US')).toBe('DKK 1,250.00');
  expect(shown(125000, 'dkk', 'da-DK')).toBe('1.250,00 kr.');
  expect(shown(5, 'eur', 'en-US')).toBe('€0.05');
  expect(shown(-5000, 'dkk', 'en-US')).toBe('-DKK 50.00');
});

test('zero-decimal currencies are whole units, as Stripe counts them', () => {
  expect(exponent('JPY')).toBe(0);
  expect(shown(11000, 'jpy', 'en-US')).toBe('¥11,000');
  expect(shown(11000, 'jpy', 'da-DK')).toBe('11.000 JP¥');
  expect(shown(1500, 'krw', 'en-US')).toBe('₩1,500');
});

test('a locale the runtime does not know still shows the amount', () => {
  expect(shown(100, 'dkk', 'xx-invalid-locale-!!')).toMatch(/1[.,]00/);
});
