// Who may change where the merchant's books go: connect, connect another company, disconnect.
// One set for all three, since any two make the third (disconnect, then connect elsewhere).
// Stripe's Dashboard gives the view the user's roles (docs.stripe.com/stripe-apps/
// using-roles-in-ui-extensions; compare `id`, which is stable). Only the view can hold this
// line: what Stripe signs for our backend names the user and the account, never a role.
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';

export const MAY_CHANGE_CONNECTION: readonly string[] = ['super_admin', 'admin', 'developer'];
// A role without an `id` (the SDK's mock; Dashboards before ids) is judged by its name.
const NAMES: readonly string[] = ['Super Administrator', 'Administrator', 'Developer'];

export const mayChangeConnection = (context: ExtensionContextValue): boolean =>
  (context.userContext?.roles ?? []).some((role) =>
    role.id !== undefined ? MAY_CHANGE_CONNECTION.includes(role.id) : NAMES.includes(role.name),
  );

// Approving another Stripe account's request to join the e-conomic company lets that account keep
// books in it; refusing, or cancelling one's own request, decides where this account's books go.
// Each is a change of where books go: the same roles (README, "Who may connect").
export const mayAnswerJoinRequest = (context: ExtensionContextValue): boolean =>
  mayChangeConnection(context);
