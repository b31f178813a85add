// The manifest against the code it describes: Stripe rejects an upload, or the Dashboard blocks a
// request, when these disagree (README: "Publishing the Stripe App" cites each field's source).
import {readFileSync} from 'fs';
import {join} from 'path';

import manifest from '../stripe-app.json';

const root = join(__dirname, '..');

// Stripe's rule for connect-src: a URL ending in "/" allows everything under it, else only itself.
const allowed = (url: string) =>
  manifest.ui_extension.content_security_policy['connect-src'].some((source) =>
    source.endsWith('/') ? url.startsWith(source) : url === source,
  );

test('every view names a component in src/views that exports a view', async () => {
  for (const view of manifest.ui_extension.views) {
    const module = (await import(join(root, 'src', 'views', view.component))) as {default: unknown};
    expect(typeof module.default).toBe('function');
  }
});

test('the content security policy allows every backend call the view makes, and no more', () => {
  const {STATUS_URL, ECON_AUTH_URL, SYNC_URL} = manifest.constants;
  for (const url of [
    `${STATUS_URL}/api/status`,
    `${ECON_AUTH_URL}/api/connect-link`,
    `${ECON_AUTH_URL}/api/disconnect`,
    `${ECON_AUTH_URL}/api/join/approve`,
    `${ECON_AUTH_URL}/api/join/refuse`,
    `${ECON_AUTH_URL}/api/join/cancel`,
    ...['settings', 'settings/save', 'object', 'replay', 'summary'].map(
      (path) => `${SYNC_URL}/api/sync/${path}`,
    ),
  ]) {
    expect(allowed(url)).toBe(true);
  }
  // Not the merchant pages, the callbacks or the internal API.
  expect(allowed(`${STATUS_URL}/v1/accounts`)).toBe(false);
  expect(allowed(`${ECON_AUTH_URL}/economic/callback`)).toBe(false);
  expect(allowed(`${SYNC_URL}/metrics`)).toBe(false);
});

// What the sync reads through install's Stripe broker and which events it is sent, and install's
// read of the account's name (README, "Publishing the Stripe App": the request or event behind
// each). Each name is in the permission enum of Stripe's manifest schema (stripe/stripe-apps,
// schema/stripe-app.schema.json) and Stripe's "Permissions reference"
// (docs.stripe.com/stripe-apps/reference/permissions).
const PERMISSIONS = [
  'event_read',
  'invoice_read',
  'customer_read',
  'charge_read',
  'payment_intent_read',
  'balance_read',
  'payout_read',
  'credit_note_read',
  'connected_account_read',
];

test('the app asks for the read permissions it needs, none to write, each with a purpose', () => {
  expect(manifest.permissions.map((p) => p.permission).sort()).toEqual([...PERMISSIONS].sort());
  for (const {permission, purpose} of manifest.permissions) {
    expect(permission).toMatch(/_read$/);
    // A sentence a merchant reads at install, naming what Kobling does with it.
    expect(purpose).toMatch(/^Kobling .{30,}\.$/);
  }
});

test('the invoice page shows the sync panel', () => {
  expect(manifest.ui_extension.views).toContainEqual({
    viewport: 'stripe.dashboard.invoice.detail',
    component: 'InvoiceSync',
  });
});

test('the install redirect is the install service\'s OAuth callback', () => {
  expect(manifest.allowed_redirect_uris).toHaveLength(1);
  expect(new URL(manifest.allowed_redirect_uris[0]).pathname).toBe('/stripe/oauth/callback');
});

test('after install the merchant lands on a settings view that exists', () => {
  expect(manifest.post_install_action).toEqual({type: 'settings'});
  expect(manifest.ui_extension.views.map((view) => view.viewport)).toContain('settings');
});

test('the icon is a 300x300 PNG', () => {
  const png = readFileSync(join(root, manifest.icon));
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([300, 300]);
});

// A general sandbox install talks to our managed sandbox, with that sandbox's own keys; Kobling
// holds a live and a test key only (docs/external-contracts.md O10). Stripe's default is off too.
test('sandbox installs stay off until the managed sandbox has keys of its own', () => {
  expect(manifest.sandbox_install_compatible).toBe(false);
});

// install reads GET /v1/account with the install's own token for the account's name (issue 23,
// "Also"): Stripe's permissions reference lists `connected_account_read` for that read.
test('the app asks for the read of its account the install makes, and nothing to write', () => {
  const asked = manifest.permissions.map((entry) => entry.permission);
  expect(asked).toContain('connected_account_read');
  expect(asked.filter((permission) => permission.endsWith('_write'))).toEqual([]);
});
