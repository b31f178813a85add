// The view's words: the same meaning as the merchant pages (services/status i18n.py), so a
// merchant reads one story whether they look in Stripe or on our page.
export const WORDS = {
  title: 'e-conomic',
  description: 'Keep your Stripe and Visma e-conomic books together',
  loading: 'Loading…',
  testMode: 'Test mode',
  notConnected: 'Not connected',
  notConnectedHelp: 'Connect your e-conomic company so Kobling can keep your books.',
  connect: 'Connect e-conomic',
  // econ-auth's own page then names the Stripe account and asks for OK before e-conomic.
  confirm:
    'e-conomic opens in a new tab: confirm your Stripe account there, log in and add the ' +
    'Kobling app. Then come back here: this view updates by itself.',
  openEconomic: 'Open e-conomic',
  cancel: 'Cancel',
  connecting: 'Connecting…',
  connectingHelp:
    'Finish in the tab that opened: confirm, log in to e-conomic and press "Add app". ' +
    'This view shows the result as soon as you are done.',
  connected: 'Connected',
  company: 'Company',
  agreement: 'Agreement number',
  connectOther: 'Connect another company',
  disconnect: 'Disconnect',
  confirmDisconnectTitle: 'Disconnect e-conomic?',
  confirmDisconnect:
    'Kobling will forget its access to your e-conomic company and stop keeping your books. ' +
    'Nothing in e-conomic is deleted.',
  disconnecting: 'Disconnecting…',
  failed: "We couldn't connect e-conomic",
  tryAgain: 'Try again',
  disconnected: 'Disconnected',
  reconnect: 'Reconnect',
  removeInEconomic: 'To remove the app in e-conomic too: Settings → Extensions → Apps.',
  sharedWarning: (count: number) =>
    `This e-conomic company is also connected to ${count} other Stripe account(s). ` +
    'Make sure that is intended, or connect another company.',
  notInstalled: 'Kobling is still finishing its installation on this account.',
  notInstalledHelp: 'This usually takes a few seconds.',
  checkAgain: 'Check again',
  unreachable: 'Kobling could not be reached',
  unreachableHelp: 'Nothing was changed. Try again in a moment.',
  linkRefused: 'Kobling could not start the connection. Try again in a moment.',
  misconfigured:
    "This app's backend is not configured: set STATUS_URL and ECON_AUTH_URL in the manifest's " +
    'constants.',
};

const REASONS: Record<string, string> = {
  state_invalid: 'The sign-in took too long or was already used.',
  grant_rejected: 'e-conomic did not accept the access it gave us.',
  economic_unavailable: 'e-conomic did not answer. This is usually brief.',
  app_uninstalled: 'Kobling was uninstalled from Stripe.',
  merchant_request: 'You disconnected e-conomic.',
  grant_revoked: 'The Kobling app was removed in e-conomic.',
  replaced: 'Another company was connected instead.',
};

export const reasonText = (reason: string | null): string =>
  (reason !== null && REASONS[reason]) || 'Something went wrong.';
