// An invoice's or a payout's page in the Stripe Dashboard. The pages are Stripe's own (the
// Viewports reference, docs.stripe.com/stripe-apps/reference/viewports, lists
// dashboard.stripe.com/invoices/:id for stripe.dashboard.invoice.detail), named with the account
// and, in test mode, /test, as the project's other Dashboard links are (DOMAIN.md "deep links";
// kobling_shared.links.dashboard_app_url), so the link opens the account the view is on.
import type {SyncCaller} from './api';

export const dashboardUrl = (caller: SyncCaller, objectId: string): string => {
  const page = objectId.startsWith('po_') ? 'payouts' : 'invoices';
  const mode = caller.livemode ? '' : '/test';
  return `https://dashboard.stripe.com/${caller.accountId}${mode}/${page}/${objectId}`;
};
