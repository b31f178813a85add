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

// --- The sync views' words (issue 25): the settings, an invoice's or a payout's sync, the
// drawer's summary. From the same catalogues (`sync.*`), English and Danish.

// `{name}` filled in, as the pages' str.format does; an unknown name stays as it is.
export const fill = (text: string, values: Record<string, string | number>): string =>
  text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );

// pydantic's error types a save can get back, per kind (sync answers them as the field's code).
const NOT_A_CHOICE = ['int_parsing', 'int_type', 'int_from_float', 'greater_than_equal', 'missing'];

const syncWordsOf = (m: Catalogue) => {
  const field: Record<string, string> = {
    layout: m['sync.field.layout'],
    payment_terms: m['sync.field.payment_terms'],
    customer_group: m['sync.field.customer_group'],
    vat_zone: m['sync.field.vat_zone'],
    product: m['sync.field.product'],
    journal: m['sync.field.journal'],
    bank_account: m['sync.field.bank_account'],
    clearing_account: m['sync.field.clearing_account'],
    fees_account: m['sync.field.fees_account'],
    suspense_account: m['sync.field.suspense_account'],
    fx_account: m['sync.field.fx_account'],
    start_date: m['sync.field.start_date'],
    accounts: m['sync.field.accounts'],
    settings: m['sync.field.settings'],
  };
  const help: Record<string, string> = {
    layout: m['sync.help.layout'],
    payment_terms: m['sync.help.payment_terms'],
    customer_group: m['sync.help.customer_group'],
    vat_zone: m['sync.help.vat_zone'],
    product: m['sync.help.product'],
    journal: m['sync.help.journal'],
    bank_account: m['sync.help.bank_account'],
    clearing_account: m['sync.help.clearing_account'],
    fees_account: m['sync.help.fees_account'],
    suspense_account: m['sync.help.suspense_account'],
    fx_account: m['sync.help.fx_account'],
    start_date: m['sync.help.start_date'],
  };
  const reasons: Record<string, string> = {
    totals_differ: m['sync.reason.totals_differ'],
    economic_refused: m['sync.reason.economic_refused'],
    settings_incomplete: m['sync.reason.settings_incomplete'],
    not_connected: m['sync.reason.not_connected'],
    broker_refused: m['sync.reason.broker_refused'],
    not_installed: m['sync.reason.not_installed'],
    stripe_refused: m['sync.reason.stripe_refused'],
    amount_paid_differs: m['sync.reason.amount_paid_differs'],
    paid_outside_stripe: m['sync.reason.paid_outside_stripe'],
    accounting_year_closed: m['sync.reason.accounting_year_closed'],
    no_accounting_year: m['sync.reason.no_accounting_year'],
    invoice_voided_after_sync: m['sync.reason.invoice_voided_after_sync'],
    invoice_marked_uncollectible_after_sync:
      m['sync.reason.invoice_marked_uncollectible_after_sync'],
  };
  const skips: Record<string, string> = {
    not_found: m['sync.skip.not_found'],
    invoice_void: m['sync.skip.invoice_void'],
    invoice_uncollectible: m['sync.skip.invoice_uncollectible'],
    not_paid: m['sync.skip.not_paid'],
    zero_total: m['sync.skip.zero_total'],
    before_start: m['sync.skip.before_start'],
    payout_failed: m['sync.skip.payout_failed'],
  };
  const steps: Record<string, string> = {
    fetch: m['sync.step.fetch'],
    settings: m['sync.step.settings'],
    broker: m['sync.step.broker'],
    customer: m['sync.step.customer'],
    draft: m['sync.step.draft'],
    book: m['sync.step.book'],
    payment: m['sync.step.payment'],
    voucher: m['sync.step.voucher'],
    after_sync: m['sync.step.after_sync'],
  };
  const labels: Record<string, string> = {
    stripe_gross: m['sync.label.stripe_gross'],
    economic_gross: m['sync.label.economic_gross'],
    stripe_vat: m['sync.label.stripe_vat'],
    economic_vat: m['sync.label.economic_vat'],
    total: m['sync.label.total'],
    amount_paid: m['sync.label.amount_paid'],
    draft_invoice_number: m['sync.label.draft'],
  };
  return {
    title: m['sync.title'],
    on: m['sync.on'],
    off: m['sync.off'],
    offSettings: m['sync.off_settings'],
    settingsHelp: m['sync.settings_help'],
    suggested: m['sync.suggested'],
    choose: m['sync.choose'],
    save: m['sync.save'],
    saved: m['sync.saved'],
    savedIncomplete: m['sync.saved_incomplete'],
    invalid: m['sync.invalid'],
    connectFirst: m['sync.connect_first'],
    roleCannotChange: m['sync.role_cannot_change'],
    loading: m['app.loading'],
    unreachable: m['app.unreachable'],
    unreachableHelp: m['app.unreachable_help'],
    checkAgain: m['app.check_again'],
    field: (name: string): string => field[name] ?? name,
    help: (name: string): string | undefined => help[name],
    // "Sync is off until these are chosen: Invoice layout, Start date."
    offMissing: (missing: string[]) =>
      fill(m['sync.off_missing'], {missing: missing.map((name) => field[name] ?? name).join(', ')}),
    // A field's error code from sync (`not_found:99`, `same_account_twice`, pydantic's types)
    // in the merchant's words.
    error: (code: string): string => {
      const [kind, value = ''] = code.split(/:(.*)/s);
      if (kind === 'not_found') {
        return fill(m['sync.error.not_found'], {number: value});
      }
      if (kind === 'no_entries') {
        return fill(m['sync.error.no_entries'], {number: value});
      }
      if (kind === 'same_account_twice') {
        return m['sync.error.same_account_twice'];
      }
      if (NOT_A_CHOICE.includes(kind)) {
        return m['sync.error.not_a_choice'];
      }
      if (kind.startsWith('date_')) {
        return m['sync.error.not_a_date'];
      }
      if (kind === 'extra_forbidden') {
        return m['sync.error.unknown_setting'];
      }
      return fill(m['sync.error.other'], {code});
    },
    state: {
      unknown: m['sync.state.unknown'],
      unknownHelp: m['sync.state.unknown_help'],
      pending: m['sync.state.pending'],
      pendingHelp: m['sync.state.pending_help'],
      synced: m['sync.state.synced'],
      syncedInvoice: (number: number) => fill(m['sync.state.synced_invoice'], {number}),
      needsAttention: m['sync.state.needs_attention'],
      skipped: m['sync.state.skipped'],
    },
    reason: (code: string | null): string =>
      (code !== null && reasons[code]) || m['sync.reason.unknown'],
    skip: (code: string | null): string => (code !== null && skips[code]) || m['sync.skip.unknown'],
    step: (name: string): string => steps[name] ?? name,
    figure: (name: string): string => labels[name] ?? name,
    label: {
      invoice: m['sync.label.invoice'],
      voucher: m['sync.label.voucher'],
      customer: m['sync.label.customer'],
      draft: m['sync.label.draft'],
      step: m['sync.label.step'],
      economicSaid: m['sync.label.economic_said'],
      payout: m['sync.label.payout'],
      fees: m['sync.label.fees'],
      suspense: m['sync.label.suspense'],
      suspenseLines: (count: number) => fill(m['sync.label.suspense_lines'], {count}),
      syncedToday: m['sync.label.synced_today'],
      lastError: m['sync.label.last_error'],
    },
    // A payout's flags (kobling_sync.payouts): a manual payout, a transaction in another
    // currency, a reversal after the payout failed.
    flag: (flag: string): string => {
      if (flag === 'manual_payout_bank_line_only') {
        return m['sync.flag.manual_payout'];
      }
      if (flag.startsWith('currency_')) {
        return fill(m['sync.flag.currency'], {id: flag.slice('currency_'.length)});
      }
      if (flag.startsWith('reversed_by_voucher_')) {
        return fill(m['sync.flag.reversed'], {number: flag.slice('reversed_by_voucher_'.length)});
      }
      return flag;
    },
    replay: m['sync.replay'],
    replayHelp: m['sync.replay_help'],
    replayRefused: m['sync.replay_refused'],
    nothingWaiting: m['sync.home.nothing_waiting'],
    invoiceNamed: (id: string) => fill(m['sync.home.invoice'], {id}),
    payoutNamed: (id: string) => fill(m['sync.home.payout'], {id}),
    payoutLookup: m['sync.payout.lookup'],
    payoutLookupHelp: m['sync.payout.lookup_help'],
    payoutShow: m['sync.payout.show'],
    payoutBadId: m['sync.payout.bad_id'],
    openInvoice: m['sync.open_invoice'],
  };
};

export type SyncWords = ReturnType<typeof syncWordsOf>;

const SYNC_EN: SyncWords = syncWordsOf(english);
const SYNC_DA: SyncWords = syncWordsOf(DANISH);

export const syncWordsFor = (locale: string | undefined): SyncWords =>
  locale?.toLowerCase().startsWith('da') ? SYNC_DA : SYNC_EN;
