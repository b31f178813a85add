// The Dashboard drawer's default view (manifest: stripe.dashboard.drawer.default).
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';
import {ContextView} from '@stripe/ui-extension-sdk/ui';

import {Connection} from '../Connection';
import {SyncHome} from '../sync/SyncHome';
import {wordsFor} from '../words';

const App = (context: ExtensionContextValue) => {
  const words = wordsFor(context.userContext.locale);
  return (
    <ContextView title={words.title} description={words.description}>
      <Connection context={context} />
      <SyncHome context={context} />
    </ContextView>
  );
};

export default App;
