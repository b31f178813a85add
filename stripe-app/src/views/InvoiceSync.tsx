// The invoice page's panel (manifest: stripe.dashboard.invoice.detail, whose objectContext is the
// invoice; docs.stripe.com/stripe-apps/reference/viewports): what the sync did with this invoice.
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';
import {ContextView, Inline} from '@stripe/ui-extension-sdk/ui';

import {ObjectSync} from '../sync/ObjectSync';
import {syncWordsFor, wordsFor} from '../words';

const InvoiceSync = (context: ExtensionContextValue) => {
  const words = wordsFor(context.userContext.locale);
  const sync = syncWordsFor(context.userContext.locale);
  const invoice = context.environment.objectContext?.id ?? '';
  return (
    <ContextView title={words.title} description={sync.title}>
      {invoice.startsWith('in_') ? (
        <ObjectSync context={context} objectId={invoice} />
      ) : (
        <Inline>{sync.openInvoice}</Inline>
      )}
    </ContextView>
  );
};

export default InvoiceSync;
