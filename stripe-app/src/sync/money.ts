// Stripe's amounts are integers in the currency's smallest unit; some currencies have none below
// the unit (Stripe's "Zero-decimal currencies", docs.stripe.com/currencies#zero-decimal: the same
// list as sync's kobling_sync.money.ZERO_DECIMAL). Shown in the merchant's own locale.
export const ZERO_DECIMAL: ReadonlySet<string> = new Set([
  'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga',
  'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf',
]); // prettier-ignore

export const exponent = (currency: string): number =>
  ZERO_DECIMAL.has(currency.toLowerCase()) ? 0 : 2;

// 125000 in "dkk" → "DKK 1,250.00" (en-US) or "1.250,00 kr." (da-DK). A locale the runtime
// does not know falls back to its default, never to no amount.
export const money = (minor: number, currency: string, locale: string): string => {
  const digits = exponent(currency);
  const options = {
    style: 'currency' as const,
    currency: currency.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  };
  const amount = minor / 10 ** digits;
  try {
    return new Intl.NumberFormat(locale, options).format(amount);
  } catch {
    return new Intl.NumberFormat(undefined, options).format(amount);
  }
};
