// Stripe's own lint setup for UI extensions (@stripe/ui-extension-tools): the recommended JS,
// TypeScript and React rules, the hooks rules, and no raw HTML elements (only the SDK's components
// render in the Dashboard).
import uiExtensionConfig from '@stripe/ui-extension-tools/eslint.config.ui-extension.mjs';

export default [
  {ignores: ['node_modules/', '.build/', 'coverage/']},
  ...uiExtensionConfig,
  {settings: {react: {version: 'detect'}}},
];
