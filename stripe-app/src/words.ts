// The view's words: the same meaning as the merchant pages (services/status i18n.py), in English
// and Danish as they are, so a merchant reads one story whether they look in Stripe or on our page.
const EN = {
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
  connectedDeveloper: 'Connected to a developer agreement',
  developerWarning:
    'This is an e-conomic developer agreement: it holds no bookkeeping, so Kobling cannot ' +
    "sync anything to it. Connect your company's own agreement instead.",
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
  // For the app's developer, who set up the manifest: English only.
  misconfigured:
    "This app's backend is not configured: set STATUS_URL and ECON_AUTH_URL in the manifest's " +
    'constants.',
  reasons: {
    state_invalid: 'The sign-in took too long or was already used.',
    grant_rejected: 'e-conomic did not accept the access it gave us.',
    economic_unavailable: 'e-conomic did not answer. This is usually brief.',
    app_uninstalled: 'Kobling was uninstalled from Stripe.',
    merchant_request: 'You disconnected e-conomic.',
    grant_revoked: 'The Kobling app was removed in e-conomic.',
    replaced: 'Another company was connected instead.',
  } as Record<string, string>,
  unknownReason: 'Something went wrong.',
};

export type Words = typeof EN;

const DA: Words = {
  title: 'e-conomic',
  description: 'Hold dit regnskab i Stripe og Visma e-conomic sammen',
  loading: 'Indlæser…',
  testMode: 'Testtilstand',
  notConnected: 'Ikke forbundet',
  notConnectedHelp: 'Forbind din e-conomic-virksomhed, så Kobling kan føre dit regnskab.',
  connect: 'Forbind e-conomic',
  confirm:
    'e-conomic åbner i en ny fane: bekræft din Stripe-konto dér, log ind og tilføj ' +
    'Kobling-appen. Kom så tilbage hertil: visningen opdaterer sig selv.',
  openEconomic: 'Åbn e-conomic',
  cancel: 'Annuller',
  connecting: 'Forbinder…',
  connectingHelp:
    'Gør det færdigt i fanen, der åbnede: bekræft, log ind i e-conomic og tilføj appen. ' +
    'Visningen viser resultatet, så snart du er færdig.',
  connected: 'Forbundet',
  connectedDeveloper: 'Forbundet til en udvikleraftale',
  developerWarning:
    'Dette er en e-conomic-udvikleraftale: den har intet regnskab, så Kobling kan ikke ' +
    'synkronisere noget til den. Forbind din virksomheds egen aftale i stedet.',
  company: 'Virksomhed',
  agreement: 'Aftalenummer',
  connectOther: 'Forbind en anden virksomhed',
  disconnect: 'Afbryd forbindelsen',
  confirmDisconnectTitle: 'Afbryd forbindelsen til e-conomic?',
  confirmDisconnect:
    'Kobling glemmer sin adgang til din e-conomic-virksomhed og holder op med at føre dit ' +
    'regnskab. Intet slettes i e-conomic.',
  disconnecting: 'Afbryder…',
  failed: 'Vi kunne ikke forbinde e-conomic',
  tryAgain: 'Prøv igen',
  disconnected: 'Afbrudt',
  reconnect: 'Forbind igen',
  removeInEconomic: 'Fjern også appen i e-conomic: Indstillinger → Udvidelser → Apps.',
  sharedWarning: (count: number) =>
    `Denne e-conomic-virksomhed er også forbundet til ${count} anden/andre Stripe-konti. ` +
    'Sørg for, at det er meningen, eller forbind en anden virksomhed.',
  notInstalled: 'Kobling er ved at gøre installationen færdig på denne konto.',
  notInstalledHelp: 'Det tager som regel få sekunder.',
  checkAgain: 'Tjek igen',
  unreachable: 'Kobling kunne ikke nås',
  unreachableHelp: 'Intet blev ændret. Prøv igen om lidt.',
  linkRefused: 'Kobling kunne ikke starte forbindelsen. Prøv igen om lidt.',
  misconfigured: EN.misconfigured,
  reasons: {
    state_invalid: 'Login tog for lang tid eller var allerede brugt.',
    grant_rejected: 'e-conomic godkendte ikke den adgang, vi fik.',
    economic_unavailable: 'e-conomic svarede ikke. Det går som regel hurtigt over.',
    app_uninstalled: 'Kobling blev afinstalleret fra Stripe.',
    merchant_request: 'Du afbrød forbindelsen til e-conomic.',
    grant_revoked: 'Kobling-appen blev fjernet i e-conomic.',
    replaced: 'En anden virksomhed blev forbundet i stedet.',
  },
  unknownReason: 'Noget gik galt.',
};

// The Dashboard user's locale ("da-DK", "en-US"): Danish for Danish, English otherwise.
export const wordsFor = (locale: string | undefined): Words =>
  locale?.toLowerCase().startsWith('da') ? DA : EN;

export const reasonText = (words: Words, reason: string | null): string =>
  (reason !== null && words.reasons[reason]) || words.unknownReason;
