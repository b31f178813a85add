// The view's words, from the one catalogue per language the merchant pages read too
// (shared/src/kobling_shared/messages/*.json, imported when the app is built), so a merchant reads
// one story whether they look in Stripe or on our page.
import english from '../../shared/src/kobling_shared/messages/en.json';
import danish from '../../shared/src/kobling_shared/messages/da.json';

type Catalogue = typeof english;

// Typed as English's: tsc fails if Danish lacks a key (the Python unit test checks both ways).
const DANISH: Catalogue = danish;

// For the app's developer, who set up the manifest: English only, so not in the catalogue.
const MISCONFIGURED =
  "This app's backend is not configured: set STATUS_URL and ECON_AUTH_URL in the manifest's " +
  'constants.';

const REASON = 'reason.';

const wordsOf = (m: Catalogue) => ({
  title: m['app.title'],
  description: m['app.description'],
  loading: m['app.loading'],
  testMode: m['app.test_mode'],
  notConnected: m['connection.not_connected'],
  notConnectedHelp: m['connection.not_connected_help'],
  connect: m['connection.connect'],
  // econ-auth's own page then names the Stripe account and asks for OK before e-conomic.
  confirm: m['app.confirm'],
  openEconomic: m['app.open_economic'],
  cancel: m['action.cancel'],
  connecting: m['app.connecting'],
  connectingHelp: m['app.connecting_help'],
  connected: m['connection.connected'],
  connectedDeveloper: m['connection.connected_developer'],
  developerWarning: m['connection.developer_warning'],
  company: m['connection.company'],
  agreement: m['connection.agreement'],
  connectOther: m['app.connect_other'],
  disconnect: m['app.disconnect'],
  confirmDisconnectTitle: m['app.confirm_disconnect_title'],
  confirmDisconnect: m['app.confirm_disconnect'],
  disconnecting: m['app.disconnecting'],
  failed: m['connection.failed'],
  tryAgain: m['connection.try_again'],
  disconnected: m['connection.disconnected'],
  reconnect: m['connection.reconnect'],
  removeInEconomic: m['connection.remove_in_economic'],
  sharedWarning: (count: number) => m['connection.shared_warning'].replace('{count}', String(count)),
  notInstalled: m['app.not_installed'],
  notInstalledHelp: m['app.not_installed_help'],
  checkAgain: m['app.check_again'],
  unreachable: m['app.unreachable'],
  unreachableHelp: m['app.unreachable_help'],
  linkRefused: m['app.link_refused'],
  roleCannotChange: m['app.role_cannot_change'],
  // Joining a company another Stripe account is connected to (issue 23, item 6).
  awaitingConsent: (company: string) =>
    m['connection.awaiting_consent'].replace('{company}', company),
  awaitingConsentHelp: (date: string) =>
    m['connection.awaiting_consent_help'].replace('{date}', date),
  cancelJoin: m['app.cancel_join'],
  joinRequest: (account: string, company: string) =>
    m['connection.join_request'].replace('{account}', account).replace('{company}', company),
  joinRequestHelp: (company: string) =>
    m['connection.join_request_help'].replace('{company}', company),
  approveJoin: m['app.approve_join'],
  refuseJoin: m['app.refuse_join'],
  misconfigured: MISCONFIGURED,
  reasons: Object.fromEntries(
    Object.entries(m)
      .filter(([key]) => key.startsWith(REASON))
      .map(([key, text]) => [key.slice(REASON.length), text]),
  ) as Record<string, string>,
  unknownReason: m['reason.unknown'],
});

export type Words = ReturnType<typeof wordsOf>;

const EN: Words = wordsOf(english);
const DA: Words = wordsOf(DANISH);

// The Dashboard user's locale ("da-DK", "en-US"): Danish for Danish, English otherwise.
export const wordsFor = (locale: string | undefined): Words =>
  locale?.toLowerCase().startsWith('da') ? DA : EN;

export const reasonText = (words: Words, reason: string | null): string =>
  (reason !== null && words.reasons[reason]) || words.unknownReason;
