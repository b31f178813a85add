// The Dashboard drawer's default view (manifest: stripe.dashboard.drawer.default).
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';
import {ContextView} from '@stripe/ui-extension-sdk/ui';

import {Connection} from '../Connection';
import {WORDS} from '../words';

const App = (context: ExtensionContextValue) => (
  <ContextView title={WORDS.title} description={WORDS.description}>
    <Connection context={context} />
  </ContextView>
);

export default App;
