// What a merchant sees of a rendered view, for the tests of the sync views: its text and the words
// components show from their props, waited for with a deadline that fails the test.
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';
import {getMockContextProps, render} from '@stripe/ui-extension-sdk/testing';
import {Button} from '@stripe/ui-extension-sdk/ui';

import {ECON_AUTH_URL, STATUS_URL} from './fakeBackend';
import {SYNC_URL} from './fakeSync';

export type Rendered = ReturnType<typeof render>;

type Role = {id?: string; name: string};

export const contextOf = ({
  mode = 'test',
  locale = 'en-US',
  objectId,
  roles,
}: {
  mode?: 'test' | 'live';
  locale?: string;
  objectId?: string;
  roles?: Role[];
} = {}): ExtensionContextValue => {
  const props = getMockContextProps({
    userContext: {locale},
    environment: {
      mode,
      constants: {STATUS_URL, ECON_AUTH_URL, SYNC_URL},
      objectContext: objectId !== undefined ? {id: objectId, object: 'invoice'} : undefined,
    },
  });
  if (roles === undefined) {
    return props;
  }
  return {
    ...props,
    userContext: {...props.userContext, roles: roles.map((role) => ({type: 'builtIn', ...role}))},
  } as ExtensionContextValue;
};

const SHOWN_PROPS = ['title', 'description', 'label', 'value', 'error', 'secondaryTitle'];

export const seen = ({wrapper}: Rendered): string => {
  const words = [wrapper.text];
  for (const node of wrapper.findAllWhere(() => true)) {
    const props = (node.props ?? {}) as Record<string, unknown>;
    for (const key of SHOWN_PROPS) {
      if (typeof props[key] === 'string') {
        words.push(props[key] as string);
      }
    }
  }
  // Intl puts a no-break space between an amount and its currency.
  return words.join('\n').replace(/\u00a0/g, ' ');
};

export const until = async (view: Rendered, text: string, ms = 4000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!seen(view).includes(text)) {
    if (Date.now() > deadline) {
      throw new Error(`never showed "${text}"; showed: ${seen(view)}`);
    }
    await view.update();
  }
};

export const buttons = ({wrapper}: Rendered): string[] =>
  wrapper.findAll(Button).map((node) => node.text);

export const press = async (view: Rendered, label: string): Promise<void> => {
  const found = view.wrapper.findAll(Button).find((node) => node.text === label);
  if (found === undefined) {
    throw new Error(`no "${label}" button; showed: ${view.wrapper.text}`);
  }
  view.wrapper.act(() => {
    found.trigger('onPress');
  });
  await view.update();
};

const shown: Rendered[] = [];

export const show = (element: Parameters<typeof render>[0]): Rendered => {
  const view = render(element);
  shown.push(view);
  return view;
};

export const unmountAll = (): void => {
  shown.splice(0).forEach((view) => view.wrapper.unmount());
};

// Stripe's signature cannot be had outside the Dashboard: the tests' stand-in is a readable
// function of exactly what the view asked Stripe to sign.
export const signedFor = (payload: Record<string, unknown>): string =>
  `signed:${JSON.stringify(payload)}`;

export const stripeSigns = (payload: Record<string, unknown>): string =>
  JSON.stringify({...payload, user_id: 'usr_1234', account_id: 'acct_1234'});

// Both backends behind one `fetch`: status and econ-auth (FakeBackend), sync (FakeSync).
export const serve = (
  sync: import('./fakeSync').FakeSync,
  backend?: import('./fakeBackend').FakeBackend,
): void => {
  global.fetch = jest.fn((input: string | URL | Request, init?: RequestInit) => {
    if (String(input).startsWith(SYNC_URL)) {
      return sync.fetch(input, init);
    }
    if (backend === undefined) {
      throw new TypeError('Failed to fetch');
    }
    return backend.fetch(input, init);
  });
};
