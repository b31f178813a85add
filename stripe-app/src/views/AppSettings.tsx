// The app's settings page (manifest: the `settings` viewport), where post_install_action sends a
// merchant right after installing: the same connection, so the first thing they see is
// "Connect e-conomic".
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';
import {SettingsView} from '@stripe/ui-extension-sdk/ui';

import {Connection} from '../Connection';

const AppSettings = (context: ExtensionContextValue) => (
  <SettingsView>
    <Connection context={context} />
  </SettingsView>
);

export default AppSettings;
