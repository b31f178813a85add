// Every state of the sync settings, rendered with the SDK's testing utilities against what sync's
// own routes answered (test/fixtures/backend.json "sync").
import {Badge, Banner, DateField, Select} from '@stripe/ui-extension-sdk/ui';

import {FakeSync, SYNC_URL, type Script} from '../../test/fakeSync';
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
import {SyncSettings} from './SyncSettings';

jest.mock('@stripe/ui-extension-sdk/signature', () => ({
  __esModule: true,
  default: jest.fn(async (payload: unknown) => `signed:${JSON.stringify(payload)}`),
}));
jest.setTimeout(15_000);

let sync: FakeSync;
const start = (script: Script, context = contextOf()): Rendered => {
  sync = new FakeSync(script);
  serve(sync);
  return show(<SyncSettings context={context} />);
};

afterEach(() => {
  unmountAll();
  jest.clearAllMocks();
});

const picker = ({wrapper}: Rendered, label: string) => {
  const found = wrapper.find(Select, {label});
  if (found === null) {
    throw new Error(`no "${label}" picker`);
  }
  return found;
};

const options = (view: Rendered, label: string): string[] =>
  picker(view, label)
    .findAllWhere((node) => (node.type as unknown) === 'option')
    .map((node) => node.text);

const pick = async (view: Rendered, label: string, value: string) => {
  view.wrapper.act(() => {
    picker(view, label).trigger('onChange', {target: {value}});
  });
  await view.update();
};

test('nothing saved: a picker per choice with e-conomic\'s "number · name", suggestions picked, sync off', async () => {
  const view = start({settings: 'fresh'});
  await until(view, 'Invoice layout');

  expect(options(view, 'Invoice layout')).toEqual([
    'Choose…',
    '19 · Standard',
    '21 · Faktura med logo',
  ]);
  expect(options(view, 'Payment terms')).toContain('5 · Kreditkort');
  // Headings, totals and barred accounts are not offered (sync leaves them out).
  expect(options(view, 'Bank account')).not.toContain('1000 · RESULTATOPGØRELSE');
  expect(options(view, 'Bank account')).not.toContain('5850 · Gammel bank');
  expect(picker(view, 'Payment terms').props.value).toBe('5');
  expect(picker(view, 'VAT zone').props.value).toBe('1');
  expect(picker(view, 'Bank account').props.value).toBe('');
  expect(view.wrapper.find(DateField)?.props.value).toBe('2026-11-23');
  for (const label of [
    'Customer group',
    'Product',
    'Journal',
    'Stripe clearing account',
    'Stripe fees account',
    'Suspense account',
    'Exchange differences account',
  ]) {
    expect(picker(view, label)).not.toBeNull();
  }
  expect(view.wrapper).toContainComponent(Banner, {
    type: 'caution',
    title: 'Sync is off',
    description: expect.stringContaining('Invoice layout, Payment terms') as unknown as string,
  });
  expect(seen(view)).toContain('Kobling filled in suggestions where it could.');
  expect(buttons(view)).toEqual(['Save settings']);

  const [asked] = sync.sentTo('/api/sync/settings');
  expect(asked.raw).toBe(stripeSigns({livemode: false, action: 'sync_settings'}));
  expect(asked.signature).toBe(signedFor({livemode: false, action: 'sync_settings'}));
});

test('complete: "Sync is on", every saved pick shown, no suggestion banner', async () => {
  const view = start({settings: 'complete'});
  await until(view, 'Sync is on');
  expect(view.wrapper).toContainComponent(Badge, {type: 'positive'});
  expect(picker(view, 'Journal').props.value).toBe('2');
  expect(picker(view, 'Suspense account').props.value).toBe('5840');
  expect(seen(view)).not.toContain('Sync is off');
  expect(seen(view)).not.toContain('suggestions');
});

test('partly saved: the banner names exactly what is missing', async () => {
  const view = start({settings: 'partial'});
  await until(view, 'Sync is off');
  expect(view.wrapper).toContainComponent(Banner, {
    title: 'Sync is off',
    description:
      'Sync is off until these are chosen: Journal, Bank account, Stripe clearing account, ' +
      'Stripe fees account, Suspense account, Exchange differences account, Start date.',
  });
});

test('Save signs save_sync_settings with the picks and says when sync is on', async () => {
  const view = start({settings: 'partial', save: ['saved']});
  await until(view, 'Journal');
  await pick(view, 'Journal', '2');
  await pick(view, 'Bank account', '5820');
  view.wrapper.act(() => {
    view.wrapper.find(DateField)?.trigger('onChange', '2026-11-01');
  });
  await press(view, 'Save settings');
  await until(view, 'Saved. Sync is on.');

  const [saved] = sync.sentTo('/api/sync/settings/save');
  const payload = {livemode: false, action: 'save_sync_settings', settings: saved.body.settings};
  expect(saved.raw).toBe(stripeSigns(payload));
  expect(saved.signature).toBe(signedFor(payload));
  expect(saved.body.settings).toMatchObject({
    layout: 19,
    journal: 2,
    bank_account: 5820,
    clearing_account: null,
    start_date: '2026-11-01',
    products: {},
  });
  expect(view.wrapper).toContainComponent(Badge, {type: 'positive'});
});

test('saved but incomplete: says sync stays off', async () => {
  const view = start({settings: 'fresh', save: ['saved_partial']});
  await until(view, 'Save settings');
  await press(view, 'Save settings');
  await until(view, 'Saved. Sync stays off until every choice is made.');
  expect(seen(view)).toContain('Sync is off until these are chosen: Journal');
});

test('e-conomic refuses (422): each problem in plain words beside its picker, nothing saved', async () => {
  const view = start({settings: 'complete', save: ['refused_by_economic']});
  await until(view, 'Save settings');
  await press(view, 'Save settings');
  await until(view, 'e-conomic cannot take these settings. Nothing was saved.');

  expect(picker(view, 'Invoice layout').props.error).toBe(
    '99 is not in your e-conomic company any more. Choose another.',
  );
  expect(picker(view, 'Stripe fees account').props.error).toBe(
    'Account 1000 does not take entries (a heading, a total or barred). Choose another.',
  );
  expect(view.wrapper).toContainComponent(Banner, {
    type: 'critical',
    description: 'Accounts: Two of the accounts are the same: each needs its own account.',
  });
  // Picking again clears that picker's problem.
  await pick(view, 'Invoice layout', '21');
  expect(picker(view, 'Invoice layout').props.error).toBeUndefined();
});

test("a value sync cannot read (422 with pydantic's types) is said too", async () => {
  const view = start({settings: 'complete', save: ['refused_types']});
  await until(view, 'Save settings');
  await press(view, 'Save settings');
  await until(view, 'e-conomic cannot take these settings.');
  expect(picker(view, 'Invoice layout').props.error).toBe('Choose one of the items in the list.');
  expect(view.wrapper.find(DateField)?.props.error).toBe(
    'Enter a date as year-month-day, for example 2026-11-01.',
  );
  expect(seen(view)).toContain('colour: Kobling does not know this setting.');
});

test('e-conomic not connected (409): says to connect first, and "Check again" reads again', async () => {
  const view = start({settings: 'not_connected'});
  await until(view, 'Connect e-conomic first');
  expect(buttons(view)).toEqual(['Check again']);
  sync.script.settings = 'fresh';
  await press(view, 'Check again');
  await until(view, 'Invoice layout');
});

test('a save that finds e-conomic gone (409) says to connect first and keeps the picks', async () => {
  const view = start({settings: 'complete', save: ['not_connected']});
  await until(view, 'Save settings');
  await pick(view, 'Invoice layout', '21');
  await press(view, 'Save settings');
  await until(view, 'Connect e-conomic first');
  expect(picker(view, 'Invoice layout').props.value).toBe('21');
});

test('sync unreachable: says so, and "Check again" recovers', async () => {
  const view = start({settings: 'down'});
  await until(view, 'Kobling could not be reached');
  sync.script.settings = 'complete';
  await press(view, 'Check again');
  await until(view, 'Sync is on');
});

test('a role that may not change where the books go sees the settings, disabled, and why', async () => {
  const view = start(
    {settings: 'complete'},
    contextOf({roles: [{id: 'view_only', name: 'View only'}]}),
  );
  await until(view, 'Invoice layout');
  expect(picker(view, 'Invoice layout').props.disabled).toBe(true);
  expect(buttons(view)).toEqual([]);
  expect(seen(view)).toContain(
    'Only an Administrator or a Developer of this Stripe account can change the sync settings',
  );
});

test("a Danish Dashboard user reads Danish, with e-conomic's own words", async () => {
  const view = start({settings: 'partial'}, contextOf({locale: 'da-DK'}));
  await until(view, 'Kassekladde');
  expect(picker(view, 'Momszone')).not.toBeNull();
  expect(seen(view)).toContain(
    'Synkroniseringen er slået fra, indtil disse er valgt: Kassekladde, Bankkonto',
  );
  expect(buttons(view)).toEqual(['Gem indstillinger']);
});

test('live mode signs for live mode', async () => {
  const view = start({settings: 'complete'}, contextOf({mode: 'live'}));
  await until(view, 'Sync is on');
  expect(sync.sentTo('/api/sync/settings')[0].raw).toBe(
    stripeSigns({livemode: true, action: 'sync_settings'}),
  );
});

test('a manifest without SYNC_URL says so and calls nothing', async () => {
  sync = new FakeSync({});
  serve(sync);
  const context = contextOf();
  const bare = {...context, environment: {...context.environment, constants: {}}};
  const view = show(<SyncSettings context={bare} />);
  await until(view, 'set SYNC_URL');
  expect(sync.sent).toHaveLength(0);
  expect(SYNC_URL).toMatch(/^https:/);
});
