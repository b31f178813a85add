// Stripe's jest preset for UI extensions (@stripe/ui-extension-tools: ts-jest, assets stubbed),
// plus what this app needs: the SDK and remote-ui ship ES modules, so jest transforms them too
// (the rest of node_modules stays as it is), and the tests run in node, where the SDK's `render`
// needs no DOM.
import uiExtensionJestConfig from '@stripe/ui-extension-tools/jest.config.ui-extension.mjs';

/** @type {import('jest').Config} */
export default {
  ...uiExtensionJestConfig,
  testEnvironment: 'node',
  // A view's test beside it (src/views/X.test.tsx, as Stripe's examples do); the older ones in test/.
  testMatch: ['<rootDir>/src/**/*.test.ts?(x)', '<rootDir>/test/**/*.test.ts?(x)'],
  transform: {
    ...uiExtensionJestConfig.transform,
    '^.+\\.[jt]sx?$': [
      'ts-jest',
      {
        tsconfig: {
          allowJs: true,
          jsx: 'react-jsx',
          esModuleInterop: true,
          resolveJsonModule: true,
          isolatedModules: true,
        },
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@stripe|@remote-ui)/)'],
};
