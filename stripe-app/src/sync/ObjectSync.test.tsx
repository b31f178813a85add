// Every object state sync's routes answered (each entry of fixtures "sync"."object", so a state
// the generator adds is rendered too), for an invoice and for a payout.
import {Badge} from '@stripe/ui-extension-sdk/ui';

import {FakeSync, type ObjectName, fixtures, objectOf} from '../../test/fakeSync';
import {contextOf, serve, show, unmountAll} from '../../test/rendering';
import {ObjectSync} from './ObjectSync';

jest.mock('@stripe/ui-extension-sdk/signature', () => ({
  __esModule: true,
  default: jest.fn(async (payload: unknown) => `signed:${JSON.stringify(payload)}`),
}));

afterEach(() => {
  unmountAll();
  jest.clearAllMocks();
});

const BADGE: Record<string, [string, RegExp]> = {
  unknown: ['neutral', /^Not synced yet$/],
  pending: ['info', /^Pending$/],
  synced: ['positive', /^Synced( · invoice \d+)?$/],
  needs_attention: ['warning', /^Needs attention$/],
  skipped: ['neutral', /^Skipped$/],
};

test.each(Object.keys(fixtures.sync.object) as ObjectName[])(
  'sync\'s "%s" answer renders with its state\'s badge',
  async (name) => {
    const object = objectOf(name);
    const sync = new FakeSync({objects: {[object.object_id]: [name]}});
    serve(sync);
    const view = show(<ObjectSync context={contextOf()} objectId={object.object_id} />);
    const [type, text] = BADGE[object.state];
    const deadline = Date.now() + 4000;
    while (view.wrapper.find(Badge) === null && Date.now() < deadline) {
      await view.update();
    }
    const badge = view.wrapper.find(Badge);
    expect(badge?.props.type).toBe(type);
    expect(badge?.text).toMatch(text);
  },
);
