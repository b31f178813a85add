// The invoice page's panel in every state sync can answer, from what sync's own routes answered
// (test/fixtures/backend.json "sync"), rendered with the SDK's testing utilities.
import {Badge, Banner, PropertyListItem} from '@stripe/ui-extension-sdk/ui';

import {FakeSync, type ObjectName, type Script} from '../../test/fakeSync';
import {
  type Rendered,
  buttons,
  contextOf,
  press,
  seen,
  serve,
  show,
  signedFor,
  stripeSigns,
  unmountAll,
  until,
} from '../../test/rendering';
import InvoiceSync from './InvoiceSync';

jest.mock('@stripe/ui-extension-sdk/signature', () => ({
  __esModule: true,
  default: jest.fn(async (payload: unknown) => `signed:${JSON.stringify(payload)}`),
}));
jest.setTimeout(15_000);

const INVOICE = 'in_2Differs';
let sync: FakeSync;

const open = (
  answers: ObjectName[],
  options: Parameters<typeof contextOf>[0] = {},
  script: Script = {},
): Rendered => {
  sync = new FakeSync({objects: {[INVOICE]: answers}, ...script});
  serve(sync);
  return show(<InvoiceSync {...contextOf({objectId: INVOICE, ...options})} />);
};

afterEach(() => {
  unmountAll();
  jest.clearAllMocks();
});

const property = (view: Rendered, label: string) =>
  view.wrapper.find(PropertyListItem, {label})?.props.value;

test('not synced yet: says so and when it will be, asked with a sync_state signature', async () => {
  const view = open(['unknown']);
  await until(view, 'Not synced yet');
  expect(seen(view)).toContain('Kobling books an invoice in e-conomic once it is paid in Stripe.');
  const [asked] = sync.sentTo('/api/sync/object');
  const payload = {livemode: false, action: 'sync_state', object_id: INVOICE};
  expect(asked.raw).toBe(stripeSigns(payload));
  expect(asked.signature).toBe(signedFor(payload));
});

test('pending: "Pending", and "Check again" shows it synced once it is', async () => {
  const view = open(['pending', 'synced']);
  await until(view, 'Pending');
  expect(view.wrapper).toContainComponent(Badge, {type: 'info'});
  await press(view, 'Check again');
  await until(view, 'Synced · invoice 1001');
});

test("synced: e-conomic's invoice number, the voucher and the customer", async () => {
  const view = open(['synced']);
  await until(view, 'Synced · invoice 1001');
  expect(view.wrapper).toContainComponent(Badge, {type: 'positive'});
  expect(property(view, 'e-conomic invoice')).toBe('1001');
  expect(property(view, 'Voucher')).toBe('501');
  expect(property(view, 'e-conomic customer')).toBe('12');
  expect(buttons(view)).toEqual(['Check again']);
});

test('totals differ: both figures as money, where it stopped, and Replay', async () => {
  const view = open(['totals_differ']);
  await until(view, 'Needs attention');
  expect(view.wrapper).toContainComponent(Banner, {
    type: 'caution',
    title: expect.stringMatching(
      /^e-conomic priced the invoice differently from Stripe/,
    ) as unknown as string,
  });
  const shown = (label: string) => String(property(view, label)).replace(/\u00a0/g, ' ');
  expect(shown("Stripe's total")).toBe('DKK 1,250.00');
  expect(shown("e-conomic's total")).toBe('DKK 1,000.00');
  expect(shown("Stripe's VAT")).toBe('DKK 250.00');
  expect(shown("e-conomic's VAT")).toBe('DKK 0.00');
  expect(property(view, 'Draft invoice')).toBe('7');
  expect(property(view, 'Stopped at')).toBe('the draft invoice');
  expect(buttons(view)).toEqual(['Replay']);
  expect(seen(view)).toContain('nothing finished is done twice');
});

test('zero-decimal currency: yen are whole yen', async () => {
  const view = open(['totals_differ_zero_decimal']);
  await until(view, 'Needs attention');
  expect(property(view, "Stripe's total")).toBe('¥11,000');
  expect(property(view, "e-conomic's total")).toBe('¥10,000');
});

test('Danish amounts read as a Dane writes them', async () => {
  const view = open(['totals_differ'], {locale: 'da-DK'});
  await until(view, 'Kræver handling');
  expect(String(property(view, 'Stripes total')).replace(/\u00a0/g, ' ')).toBe('1.250,00 kr.');
  expect(buttons(view)).toEqual(['Kør igen']);
});

test('e-conomic refused: its message and the field it names', async () => {
  const view = open(['economic_refused']);
  await until(view, 'e-conomic refused it.');
  expect(property(view, 'e-conomic said')).toBe('Validation error.');
  expect(property(view, 'paymentTerms')).toBe('Payment terms not found.');
  expect(property(view, 'Stopped at')).toBe('the customer');
});

test('Replay signs a replay with a fresh nonce and shows the state it comes back with', async () => {
  const view = open(['totals_differ']);
  await until(view, 'Replay');
  await press(view, 'Replay');
  await until(view, 'Synced · invoice 1002');

  const [sent] = sync.sentTo('/api/sync/replay');
  const {nonce} = JSON.parse(sent.raw) as {nonce: string};
  expect(nonce).toMatch(/^[0-9a-f]{32}$/);
  const payload = {livemode: false, action: 'replay', object_id: INVOICE, nonce};
  expect(sent.raw).toBe(stripeSigns(payload));
  expect(sent.signature).toBe(signedFor(payload));
  expect(buttons(view)).toEqual(['Check again']);
});

test('a Replay sync refuses (its signature spent) says so and keeps the invoice shown', async () => {
  const view = open(['totals_differ'], {}, {replay: 'used'});
  await until(view, 'Replay');
  await press(view, 'Replay');
  await until(view, 'Replay was refused.');
  expect(seen(view)).toContain('Needs attention');
});

test('skipped: why, in plain words', async () => {
  const view = open(['skipped']);
  await until(view, 'Skipped');
  expect(seen(view)).toContain('It was paid before the start date in the sync settings.');
});

test('a role that may not change the books sees why, and no Replay', async () => {
  const view = open(['totals_differ'], {roles: [{id: 'analyst', name: 'Analyst'}]});
  await until(view, 'Needs attention');
  expect(buttons(view)).toEqual([]);
  expect(seen(view)).toContain('Only an Administrator or a Developer');
});

test('no invoice in view: says what the panel is for and asks nothing', async () => {
  sync = new FakeSync({});
  serve(sync);
  const view = show(<InvoiceSync {...contextOf()} />);
  await until(view, "This panel shows an invoice's sync");
  expect(sync.sent).toHaveLength(0);
});
