// The app's settings page (manifest: the `settings` viewport), where post_install_action sends a
// merchant right after installing: the same connection, so the first thing they see is
// "Connect e-conomic"; then the sync settings (issue 25), which ask sync for the merchant's own
// e-conomic choices and say "connect first" until e-conomic is connected.
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';
import {Divider, SettingsView} from '@stripe/ui-extension-sdk/ui';

import {Connection} from '../Connection';
import {SyncSettings} from '../sync/SyncSettings';

const AppSettings = (context: ExtensionContextValue) => (
  <SettingsView>
    <Connection context={context} />
    <Divider />
    <SyncSettings context={context} />
  </SettingsView>
);

export default AppSettings;
