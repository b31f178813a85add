// One test per state the view shows, rendered with the SDK's own testing utilities, the backend
// played by a fake fetch that answers the status service's real JSON.
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';
import {getMockContextProps, render} from '@stripe/ui-extension-sdk/testing';
import {Badge, Banner, Button, PropertyListItem} from '@stripe/ui-extension-sdk/ui';

import {Connection} from '../src/Connection';
import App from '../src/views/App';
import AppSettings from '../src/views/AppSettings';
import {ECON_AUTH_URL, FakeBackend, STATUS_URL, fixtures} from './fakeBackend';

// Stripe's signature cannot be had outside the Dashboard: this one is a readable function of
// exactly what the view asked Stripe to sign, so a test sees what each request was signed for.
// What Stripe then signs is `JSON.stringify({...payload, user_id, account_id})`, and the body must
// be that very string (docs.stripe.com/stripe-apps/build-backend; README "The signed view request").
const stripeSigns = (payload: Record<string, unknown>) =>
  JSON.stringify({...payload, user_id: 'usr_1234', account_id: 'acct_1234'});
jest.mock('@stripe/ui-extension-sdk/signature', () => ({
  __esModule: true,
  default: jest.fn(async (payload: unknown) => `signed:${JSON.stringify(payload)}`),
}));

const context = (mode: 'test' | 'live' = 'test', locale = 'en-US'): ExtensionContextValue =>
  getMockContextProps({
    userContext: {locale},
    environment: {mode, constants: {STATUS_URL, ECON_AUTH_URL}},
  });

let backend: FakeBackend;

const serve = (...statuses: ConstructorParameters<typeof FakeBackend>) => {
  backend = new FakeBackend(...statuses);
  global.fetch = jest.fn(backend.fetch);
};

type Rendered = ReturnType<typeof render>;

// What the merchant sees: the text, and the words components show from their props (a Banner's
// title, a property's label and value).
const SHOWN_PROPS = ['title', 'description', 'label', 'value'];
const seen = ({wrapper}: Rendered): string => {
  const words = [wrapper.text];
  for (const node of wrapper.findAllWhere(() => true)) {
    const props = (node.props ?? {}) as Record<string, unknown>;
    for (const key of SHOWN_PROPS) {
      if (typeof props[key] === 'string') {
        words.push(props[key] as string);
      }
    }
  }
  return words.join('\n');
};

// Waits for what the merchant would see, with a deadline that fails the test.
const until = async (view: Rendered, text: string, ms = 4000) => {
  const deadline = Date.now() + ms;
  while (!seen(view).includes(text)) {
    if (Date.now() > deadline) {
      throw new Error(`never showed "${text}"; showed: ${seen(view)}`);
    }
    await view.update();
  }
};

const button = ({wrapper}: Rendered, label: string) => {
  const found = wrapper.findAll(Button).find((node) => node.text === label);
  if (found === undefined) {
    throw new Error(`no "${label}" button; showed: ${wrapper.text}`);
  }
  return found;
};

const buttons = ({wrapper}: Rendered) =>
  wrapper.findAll(Button).map((node) => node.text);

const badges = ({wrapper}: Rendered) =>
  wrapper.findAll(Badge).map((node) => `${node.props.type}: ${node.text}`);

const press = async (view: Rendered, label: string) => {
  view.wrapper.act(() => {
    button(view, label).trigger('onPress');
  });
  await view.update();
};

jest.setTimeout(15_000);

const shown: Rendered[] = [];
const show = (element: Parameters<typeof render>[0]): Rendered => {
  const view = render(element);
  shown.push(view);
  return view;
};

afterEach(() => {
  // Unmounting stops any polling the view still does.
  shown.splice(0).forEach((view) => view.wrapper.unmount());
  jest.clearAllMocks();
});

test('not connected: says so and offers "Connect e-conomic", asked with a status signature', async () => {
  serve('not_connected');
  const view = show(<App {...context()} />);
  await until(view, 'Not connected');

  expect(view.wrapper).toContainText('Connect your e-conomic company so Kobling can keep your books.');
  expect(buttons(view)).toEqual(['Connect e-conomic']);
  const [asked] = backend.sentTo('/api/status');
  expect(asked.url).toBe(`${STATUS_URL}/api/status`);
  // The body is the string Stripe signs, byte for byte: the payload, then the user, then the account.
  expect(asked.raw).toBe(
    '{"livemode":false,"action":"status","user_id":"usr_1234","account_id":"acct_1234"}',
  );
  expect(asked.signature).toBe('signed:{"livemode":false,"action":"status"}');
  expect(view.wrapper).toContainComponent(Badge, {type: 'info'});
});

test('connecting: "Connect e-conomic" mints a link, opens it in a new tab, then waits', async () => {
  serve('not_connected');
  const view = show(<App {...context()} />);
  await until(view, 'Connect e-conomic');

  await press(view, 'Connect e-conomic');
  await until(view, 'e-conomic opens in a new tab');
  const [minted] = backend.sentTo('/api/connect-link');
  expect(minted.url).toBe(`${ECON_AUTH_URL}/api/connect-link`);
  // A connect carries a fresh nonce: two clicks within Stripe's one-second timestamp are two
  // requests, and econ-auth spends each signature once.
  const {nonce} = JSON.parse(minted.raw);
  expect(nonce).toMatch(/^[0-9a-f]{32}$/);
  expect(minted.signature).toBe(`signed:{"livemode":false,"action":"connect","nonce":"${nonce}"}`);
  expect(minted.raw).toBe(stripeSigns({livemode: false, action: 'connect', nonce}));
  await until(view, 'Open e-conomic');
  expect(button(view, 'Open e-conomic')).toHaveProps({href: fixtures.connect_link.url, target: '_blank'});

  await press(view, 'Open e-conomic');
  await until(view, 'Connecting…');
  expect(view.wrapper).toContainText('press "Add app"');
  expect(buttons(view)).toEqual(['Cancel']);

  await press(view, 'Cancel');
  await until(view, 'Not connected');
});

test('back from e-conomic: the view shows "Connected" by itself, without a reload', async () => {
  serve('not_connected');
  const view = show(<Connection context={context()} pollMs={20} />);
  await until(view, 'Connect e-conomic');
  await press(view, 'Connect e-conomic');
  await until(view, 'Open e-conomic');
  await press(view, 'Open e-conomic');
  await until(view, 'Connecting…');

  backend.then('connected');
  await until(view, 'Acme ApS');
  expect(badges(view)).toContain('positive: Connected');
  expect(view.wrapper).not.toContainText('Connecting…');
});

test('connected: company and agreement number, "Connect another company" and "Disconnect"', async () => {
  serve('connected');
  const view = show(<App {...context()} />);
  await until(view, 'Acme ApS');

  expect(badges(view)).toEqual(['info: Test mode', 'positive: Connected']);
  expect(view.wrapper).toContainComponent(PropertyListItem, {label: 'Company', value: 'Acme ApS'});
  expect(view.wrapper).toContainComponent(PropertyListItem, {
    label: 'Agreement number',
    value: '123456',
  });
  expect(buttons(view)).toEqual(['Connect another company', 'Disconnect']);
  expect(view.wrapper).not.toContainComponent(Banner);
});

test('failed: the reason in the merchant\'s words and "Try again", which starts over', async () => {
  serve('failed');
  const view = show(<App {...context()} />);
  await until(view, "We couldn't connect e-conomic");

  expect(view.wrapper).toContainComponent(Banner, {
    type: 'critical',
    title: "We couldn't connect e-conomic",
    description: 'e-conomic did not accept the access it gave us.',
  });
  expect(buttons(view)).toEqual(['Try again']);
  await press(view, 'Try again');
  await until(view, 'e-conomic opens in a new tab');
  expect(backend.sentTo('/api/connect-link')).toHaveLength(1);
});

test('shared agreement: a warning that the company is connected to another Stripe account', async () => {
  serve('agreement_shared');
  const view = show(<App {...context()} />);
  await until(view, 'Acme ApS');

  expect(view.wrapper).toContainComponent(Banner, {
    type: 'caution',
    title:
      'This e-conomic company is also connected to 1 other Stripe account(s). ' +
      'Make sure that is intended, or connect another company.',
  });
  expect(buttons(view)).toContain('Connect another company');
});

test('developer agreement: connected, but warned that nothing can sync to it', async () => {
  serve('developer_agreement');
  const view = show(<App {...context()} />);
  await until(view, 'Developer ApS');

  expect(view.wrapper).toContainComponent(Badge, {type: 'warning'});
  expect(view.wrapper).toContainComponent(Banner, {
    type: 'caution',
    title:
      'This is an e-conomic developer agreement: it holds no bookkeeping, so Kobling cannot ' +
      "sync anything to it. Connect your company's own agreement instead.",
  });
  expect(buttons(view)).toContain('Connect another company');
});

test('disconnected by the merchant: says so, where to remove the app in e-conomic, "Reconnect"', async () => {
  serve('disconnected');
  const view = show(<App {...context()} />);
  await until(view, 'Disconnected');

  expect(view.wrapper).toContainText('You disconnected e-conomic.');
  expect(view.wrapper).toContainText('Settings → Extensions → Apps');
  expect(buttons(view)).toEqual(['Reconnect']);
});

test('revoked in e-conomic: says the app was removed there, and "Reconnect"', async () => {
  serve('revoked');
  const view = show(<App {...context()} />);
  await until(view, 'Disconnected');

  expect(view.wrapper).toContainText('The Kobling app was removed in e-conomic.');
  expect(view.wrapper).not.toContainText('Settings → Extensions → Apps');
  expect(buttons(view)).toEqual(['Reconnect']);
});

test('"Disconnect" asks first; only the confirmation sends a disconnect signature', async () => {
  serve('connected');
  const view = show(<Connection context={context()} pollMs={20} />);
  await until(view, 'Acme ApS');

  await press(view, 'Disconnect');
  await until(view, 'Disconnect e-conomic?');
  expect(buttons(view)).toEqual(['Disconnect', 'Cancel']);
  await press(view, 'Cancel');
  await until(view, 'Acme ApS');
  expect(backend.sentTo('/api/disconnect')).toHaveLength(0);

  await press(view, 'Disconnect');
  await until(view, 'Disconnect e-conomic?');
  backend.then('disconnected');
  await press(view, 'Disconnect');
  await until(view, 'You disconnected e-conomic.');
  const [sent] = backend.sentTo('/api/disconnect');
  const {nonce} = JSON.parse(sent.raw);
  expect(nonce).toMatch(/^[0-9a-f]{32}$/);
  expect(sent.signature).toBe(`signed:{"livemode":false,"action":"disconnect","nonce":"${nonce}"}`);
  expect(sent.raw).toBe(stripeSigns({livemode: false, action: 'disconnect', nonce}));
  expect(buttons(view)).toEqual(['Reconnect']);
});

test('live mode: every request is signed for live mode, and no test-mode badge', async () => {
  serve('connected');
  const view = show(<App {...context('live')} />);
  await until(view, 'Acme ApS');

  const [asked] = backend.sentTo('/api/status');
  expect(asked.raw).toBe(stripeSigns({livemode: true, action: 'status'}));
  expect(asked.signature).toBe('signed:{"livemode":true,"action":"status"}');
  expect(view.wrapper).not.toContainComponent(Badge, {type: 'info'});
});

test('not installed yet: says the installation is finishing, and checks again on request', async () => {
  serve('not_installed', 'not_connected');
  const view = show(<App {...context()} />);
  await until(view, 'Kobling is still finishing its installation');

  await press(view, 'Check again');
  await until(view, 'Not connected');
});

test('backend unreachable: says nothing changed, and "Try again" recovers', async () => {
  serve('down', 'connected');
  const view = show(<App {...context()} />);
  await until(view, 'Kobling could not be reached');

  await press(view, 'Try again');
  await until(view, 'Acme ApS');
});

test('a Danish Dashboard user reads the merchant pages\' Danish words', async () => {
  serve('failed');
  const view = show(<App {...context('test', 'da-DK')} />);
  await until(view, 'Vi kunne ikke forbinde e-conomic');

  expect(view.wrapper).toContainComponent(Banner, {
    description: 'e-conomic godkendte ikke den adgang, vi fik.',
  });
  expect(buttons(view)).toEqual(['Prøv igen']);
});

test('the settings page shows the same connection', async () => {
  serve('not_connected');
  const view = show(<AppSettings {...context()} />);
  await until(view, 'Not connected');
  expect(buttons(view)).toEqual(['Connect e-conomic']);
});

test('a manifest without the backend URLs says so instead of calling anything', async () => {
  serve('connected');
  const bare = getMockContextProps({environment: {mode: 'test'}});
  const view = show(<App {...bare} />);
  await until(view, "This app's backend is not configured");
  expect(backend.sent).toHaveLength(0);
});

// Who may change where the books go (README, "Who may connect"): Administrators and Developers.
// Stripe's mock gives a Developer by name only (no `id`), as older Dashboards do.
const withRoles = (...roles: {id?: string; name: string}[]): ExtensionContextValue => {
  const props = context();
  return {
    ...props,
    userContext: {...props.userContext, roles: roles.map((role) => ({type: 'builtIn', ...role}))},
  } as ExtensionContextValue;
};
const CANNOT_CHANGE =
  'Only an Administrator or a Developer of this Stripe account can connect or disconnect e-conomic.';

test.each(['not_connected', 'connected', 'failed', 'disconnected'] as const)(
  'a View only user sees the connection (%s) and no button that changes it, and why',
  async (state) => {
    serve(state);
    const view = show(<App {...withRoles({id: 'view_only', name: 'View only'})} />);
    await until(view, CANNOT_CHANGE);
    expect(buttons(view)).toEqual([]);
    expect(backend.sentTo('/api/connect-link')).toEqual([]);
  },
);

test('an Analyst or a Support specialist may not change it either; an unknown role id neither', async () => {
  for (const role of [
    {id: 'analyst', name: 'Analyst'},
    {id: 'support_specialist', name: 'Support specialist'},
    {id: 'admin_of_nothing', name: 'Administrator'},
  ]) {
    serve('connected');
    const view = show(<App {...withRoles(role)} />);
    await until(view, CANNOT_CHANGE);
    expect(buttons(view)).toEqual([]);
  }
});

test('an Administrator, a Super Administrator or a Developer may connect, connect another and disconnect', async () => {
  for (const role of [
    {id: 'admin', name: 'Administrator'},
    {id: 'super_admin', name: 'Super Administrator'},
    {id: 'developer', name: 'Developer'},
    {name: 'Administrator'},
  ]) {
    serve('connected');
    const view = show(<App {...withRoles({id: 'view_only', name: 'View only'}, role)} />);
    await until(view, 'Connect another company');
    expect(buttons(view)).toEqual(['Connect another company', 'Disconnect']);
    expect(view.wrapper).not.toContainText(CANNOT_CHANGE);
  }
});

// A company another Stripe account is connected to (issue 23, item 6): the newcomer waits for that
// account's approval; the account already connected approves or refuses in its own view.
const JOIN = 'Stripe account acct_1Newcomer (Newcomer Studio) · Test mode asks to join your ' +
  'e-conomic company Acme ApS';

test('awaiting consent: says whose approval it waits for, and "Cancel request" signs a cancel', async () => {
  serve('awaiting_consent');
  const view = show(<Connection context={context()} pollMs={20} />);
  await until(view, 'Waiting for Acme ApS to approve in the Stripe account already connected to it');

  expect(view.wrapper).toContainText('If nobody answers by 2026-11-30');
  expect(view.wrapper).not.toContainText('acct_1Other');
  expect(buttons(view)).toEqual(['Cancel request']);
  backend.then('join_cancelled');
  await press(view, 'Cancel request');
  await until(view, 'You cancelled the request to join');
  const [sent] = backend.sentTo('/api/join/cancel');
  const {nonce} = JSON.parse(sent.raw);
  expect(sent.signature).toBe(`signed:{"livemode":false,"action":"cancel_join","nonce":"${nonce}"}`);
  expect(sent.raw).toBe(stripeSigns({livemode: false, action: 'cancel_join', nonce}));
});

test('a request to join: names the account, its name and the company; "Approve" signs whose', async () => {
  serve('join_requested');
  const view = show(<Connection context={context()} pollMs={20} />);
  await until(view, JOIN);

  expect(view.wrapper).toContainComponent(Banner, {
    type: 'caution',
    title: JOIN,
    description:
      'Approve only if you know this Stripe account: it would keep books in Acme ApS as you do. ' +
      'If you refuse, Kobling deletes the access it was given.',
  });
  expect(buttons(view)).toEqual(['Approve', 'Refuse', 'Connect another company', 'Disconnect']);
  backend.then('agreement_shared');
  await press(view, 'Approve');
  await until(view, 'also connected to 1 other Stripe account');
  expect(view.wrapper).not.toContainText(JOIN);
  const [sent] = backend.sentTo('/api/join/approve');
  const {nonce} = JSON.parse(sent.raw);
  const signed = {
    livemode: false,
    action: 'approve_join',
    nonce,
    waiting_account: 'acct_1Newcomer',
    waiting_livemode: false,
  };
  expect(sent.signature).toBe(`signed:${JSON.stringify(signed)}`);
  expect(sent.raw).toBe(stripeSigns(signed));
});

test('"Refuse" signs a refusal of that account\'s request', async () => {
  serve('join_requested');
  const view = show(<Connection context={context()} pollMs={20} />);
  await until(view, JOIN);
  backend.then('connected');
  await press(view, 'Refuse');
  await until(view, 'Connect another company');
  const [sent] = backend.sentTo('/api/join/refuse');
  expect(JSON.parse(sent.raw)).toMatchObject({
    action: 'refuse_join',
    waiting_account: 'acct_1Newcomer',
    waiting_livemode: false,
  });
});

test('a request already answered elsewhere: the backend\'s words, and nothing else changes', async () => {
  serve('join_requested');
  const view = show(<Connection context={context()} pollMs={20} />);
  await until(view, JOIN);
  backend.joinAnswer = 'no_join_request';
  await press(view, 'Approve');
  await until(view, 'No request from that Stripe account waits for your e-conomic company');
  expect(buttons(view)).toContain('Approve');
});

test('a View only user sees a request to join, and cannot answer it', async () => {
  serve('join_requested');
  const view = show(<App {...withRoles({id: 'view_only', name: 'View only'})} />);
  await until(view, JOIN);
  expect(buttons(view)).toEqual([]);
  expect(view.wrapper).toContainText(CANNOT_CHANGE);
});

test('a refused request: says the connected account refused, and "Try again"', async () => {
  serve('join_refused');
  const view = show(<App {...context()} />);
  await until(view, "We couldn't connect e-conomic");
  expect(view.wrapper).toContainComponent(Banner, {
    description:
      'The Stripe account already connected to that e-conomic company refused to share it.',
  });
});

test('a Danish user reads the request to join in Danish', async () => {
  serve('join_requested');
  const view = show(<App {...context('test', 'da-DK')} />);
  await until(view, 'beder om at blive forbundet med din e-conomic-virksomhed Acme ApS');
  expect(buttons(view)).toEqual(['Godkend', 'Afvis', 'Forbind en anden virksomhed', 'Afbryd forbindelsen']);
});
