// The drawer's sync summary and payout look-up in every state, from what sync's own routes
// answered (test/fixtures/backend.json "sync"), rendered with the SDK's testing utilities.
import {
  Badge,
  Banner,
  Button,
  Link,
  PropertyListItem,
  TextField,
} from '@stripe/ui-extension-sdk/ui';

import {FakeBackend} from '../../test/fakeBackend';
import {FakeSync, type Script} from '../../test/fakeSync';
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
import App from '../views/App';
import {SyncHome} from './SyncHome';

jest.mock('@stripe/ui-extension-sdk/signature', () => ({
  __esModule: true,
  default: jest.fn(async (payload: unknown) => `signed:${JSON.stringify(payload)}`),
}));
jest.setTimeout(15_000);

let sync: FakeSync;
const open = (script: Script, options: Parameters<typeof contextOf>[0] = {}): Rendered => {
  sync = new FakeSync(script);
  serve(sync);
  return show(<SyncHome context={contextOf(options)} />);
};

afterEach(() => {
  unmountAll();
  jest.clearAllMocks();
});

const property = (view: Rendered, label: string) =>
  view.wrapper.find(PropertyListItem, {label})?.props.value;

const typeIn = async (view: Rendered, text: string) => {
  view.wrapper.act(() => {
    view.wrapper.find(TextField)?.trigger('onChange', {target: {value: text}});
  });
  await view.update();
};

test('sync on: synced today, each waiting invoice and payout named and linked, the last error', async () => {
  const view = open({summary: 'on'});
  await until(view, 'Sync is on');
  expect(view.wrapper).toContainComponent(Badge, {type: 'positive'});
  expect(property(view, 'Synced today')).toBe('2');
  expect(property(view, 'Needs attention')).toBe('4');

  const text = seen(view);
  for (const reason of [
    'The accounting year of the payment date is closed in e-conomic.',
    'e-conomic refused it.',
    'e-conomic priced the invoice differently from Stripe.',
  ]) {
    expect(text).toContain(reason);
  }
  const links = view.wrapper.findAll(Link).map((link) => [link.text, link.props.href]);
  expect(links).toContainEqual([
    'Invoice in_2Differs',
    'https://dashboard.stripe.com/acct_1234/test/invoices/in_2Differs',
  ]);
  expect(links).toContainEqual([
    'Payout po_2Closed',
    'https://dashboard.stripe.com/acct_1234/test/payouts/po_2Closed',
  ]);
  expect(property(view, 'Last error')).toBe(
    'Payout po_2Closed · The accounting year of the payment date is closed in e-conomic.',
  );

  const [asked] = sync.sentTo('/api/sync/summary');
  expect(asked.raw).toBe(stripeSigns({livemode: false, action: 'sync_summary'}));
  expect(asked.signature).toBe(signedFor({livemode: false, action: 'sync_summary'}));
});

test('sync off: says why and where to finish the settings', async () => {
  const view = open({summary: 'off'});
  await until(view, 'Sync is off');
  expect(view.wrapper).toContainComponent(Banner, {
    type: 'caution',
    description:
      "Sync is off until the sync settings are complete: finish them on the app's settings page.",
  });
  expect(property(view, 'Synced today')).toBe('0');
  expect(seen(view)).toContain('Nothing needs attention.');
  expect(view.wrapper.find(PropertyListItem, {label: 'Last error'})).toBeNull();
});

test('nothing waiting: says so', async () => {
  const view = open({summary: 'quiet'});
  await until(view, 'Nothing needs attention.');
  expect(property(view, 'Synced today')).toBe('2');
});

test('live mode links to the live Dashboard', async () => {
  const view = open({summary: 'on'}, {mode: 'live'});
  await until(view, 'Sync is on');
  expect(view.wrapper.findAll(Link).map((link) => link.props.href)).toContain(
    'https://dashboard.stripe.com/acct_1234/invoices/in_2Differs',
  );
});

test("a booked payout: its voucher, the payout, Stripe's fees and what went to suspense", async () => {
  const view = open({summary: 'quiet', objects: {po_1Payout: ['payout_booked']}});
  await until(view, 'Nothing needs attention.');
  await typeIn(view, ' po_1Payout ');
  await press(view, 'Show');
  await until(view, 'On suspense');

  const shown = (label: string) => String(property(view, label)).replace(/\u00a0/g, ' ');
  expect(shown('Voucher')).toBe('42');
  expect(shown('Payout')).toBe('DKK 987.65');
  expect(shown('Stripe fees')).toBe('DKK 12.35');
  expect(shown('On suspense')).toBe('-DKK 50.00');
  expect(seen(view)).toContain('1 transaction(s) no synced invoice explains');
  const [asked] = sync.sentTo('/api/sync/object');
  expect(asked.raw).toBe(
    stripeSigns({livemode: false, action: 'sync_state', object_id: 'po_1Payout'}),
  );
});

test('a waiting payout opens from the list, with why and Replay', async () => {
  const view = open({summary: 'on', objects: {po_2Closed: ['payout_needs_attention']}});
  await until(view, 'Sync is on');
  // The waiting payout's own "Show" (the first: the only payout waiting).
  view.wrapper.act(() => {
    view.wrapper
      .findAll(Button)
      .find((node) => node.text === 'Show')
      ?.trigger('onPress');
  });
  await until(view, 'Stopped at');
  expect(property(view, 'Stopped at')).toBe('the payment');
  expect(buttons(view)).toContain('Replay');
});

test('something that is not a payout id says what one looks like, and asks nothing', async () => {
  const view = open({summary: 'quiet'});
  await until(view, 'Nothing needs attention.');
  await typeIn(view, 'in_1Paid');
  await press(view, 'Show');
  expect(view.wrapper.find(TextField)?.props.error).toBe("A payout's id starts with po_.");
  expect(sync.sentTo('/api/sync/object')).toHaveLength(0);
});

test('sync unreachable: says so, and "Check again" recovers', async () => {
  const view = open({summary: 'down'});
  await until(view, 'Kobling could not be reached');
  sync.script.summary = 'on';
  await press(view, 'Check again');
  await until(view, 'Sync is on');
});

test('Danish: the summary in Danish', async () => {
  const view = open({summary: 'on'}, {locale: 'da-DK'});
  await until(view, 'Synkroniseringen er slået til');
  expect(property(view, 'Synkroniseret i dag')).toBe('2');
  expect(seen(view)).toContain('Faktura in_2Differs');
});

test('the drawer shows the connection, then the sync', async () => {
  sync = new FakeSync({summary: 'on'});
  serve(sync, new FakeBackend('connected'));
  const view = show(<App {...contextOf()} />);
  await until(view, 'Acme ApS');
  await until(view, 'Sync is on');
  expect(buttons(view)).toEqual(
    expect.arrayContaining(['Connect another company', 'Disconnect', 'Check again', 'Show']),
  );
});
