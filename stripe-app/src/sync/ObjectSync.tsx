// One invoice's or payout's sync: Pending, Synced (e-conomic's invoice number and voucher; for a
// payout what its voucher booked), Needs attention (why, in plain words; e-conomic's own message
// and the field it names; the totals gate's figures as money) with Replay, Skipped (why), or not
// synced yet. Shown on an invoice's page (views/InvoiceSync) and for a payout in the drawer.
import {type ReactNode, useCallback, useEffect, useMemo, useReducer} from 'react';
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';
import {
  Badge,
  Banner,
  Box,
  Button,
  Inline,
  PropertyList,
  PropertyListItem,
  Spinner,
} from '@stripe/ui-extension-sdk/ui';

import {mayChangeConnection} from '../roles';
import {type SyncWords, syncWordsFor} from '../words';
import {type ObjectState, objectState, replay, syncCallerOf} from './api';
import {money} from './money';
import {figuresOf, mayReplay, objectReducer} from './objectMachine';
import {SYNC_MISCONFIGURED} from './SyncSettings';

const Column = ({children}: {children: ReactNode}) => (
  <Box css={{stack: 'y', gapY: 'medium'}}>{children}</Box>
);

type Shown = {object: ObjectState; words: SyncWords; locale: string};

const amount = (minor: number, {object, locale}: Shown): string =>
  object.currency !== null ? money(minor, object.currency, locale) : String(minor);

const Numbers = ({items}: {items: [string, string | number | null][]}) => (
  <PropertyList>
    {items
      .filter(([, value]) => value !== null)
      .map(([label, value]) => (
        <PropertyListItem key={label} label={label} value={String(value)} />
      ))}
  </PropertyList>
);

const SyncedInvoice = ({object, words}: Shown) => (
  <Column>
    <Badge type="positive">
      {object.booked_invoice_number !== null
        ? words.state.syncedInvoice(object.booked_invoice_number)
        : words.state.synced}
    </Badge>
    <Numbers
      items={[
        [words.label.invoice, object.booked_invoice_number],
        [words.label.voucher, object.voucher_number],
        [words.label.customer, object.customer_number],
      ]}
    />
  </Column>
);

const SyncedPayout = (shown: Shown) => {
  const {object, words} = shown;
  const booked = object.payout;
  return (
    <Column>
      <Badge type="positive">{words.state.synced}</Badge>
      <Numbers
        items={[
          [words.label.voucher, object.voucher_number],
          [words.label.payout, booked !== null ? amount(booked.amount, shown) : null],
          [words.label.fees, booked !== null ? amount(booked.fees, shown) : null],
          [words.label.suspense, booked !== null ? amount(booked.suspense, shown) : null],
        ]}
      />
      {booked !== null && booked.suspense_lines > 0 ? (
        <Inline>{words.label.suspenseLines(booked.suspense_lines)}</Inline>
      ) : null}
      {(booked?.flags ?? []).map((flag) => (
        <Banner key={flag} type="caution" title={words.flag(flag)} />
      ))}
    </Column>
  );
};

const NeedsAttention = (shown: Shown) => {
  const {object, words} = shown;
  const economic = object.economic;
  const figures = figuresOf(object).filter((figure) => !figure.money || object.currency !== null);
  return (
    <Column>
      <Badge type="warning">{words.state.needsAttention}</Badge>
      <Banner type="caution" title={words.reason(object.reason)} />
      <PropertyList>
        {object.step !== null ? (
          <PropertyListItem label={words.label.step} value={words.step(object.step)} />
        ) : null}
        {figures.map((figure) => (
          <PropertyListItem
            key={figure.name}
            label={words.figure(figure.name)}
            value={figure.money ? amount(figure.value, shown) : String(figure.value)}
          />
        ))}
        {economic?.message ? (
          <PropertyListItem label={words.label.economicSaid} value={economic.message} />
        ) : null}
        {/* e-conomic names the field it refused, by its path in what was sent. */}
        {Object.entries(economic?.errors ?? {}).map(([field, message]) => (
          <PropertyListItem key={field} label={field} value={message} />
        ))}
      </PropertyList>
    </Column>
  );
};

const Skipped = ({object, words}: Shown) => (
  <Column>
    <Badge type="neutral">{words.state.skipped}</Badge>
    <Inline>{words.skip(object.reason)}</Inline>
  </Column>
);

const Pending = ({words}: Shown) => (
  <Column>
    <Badge type="info">{words.state.pending}</Badge>
    <Inline>{words.state.pendingHelp}</Inline>
  </Column>
);

const NotYet = ({words}: Shown) => (
  <Column>
    <Badge type="neutral">{words.state.unknown}</Badge>
    <Inline>{words.state.unknownHelp}</Inline>
  </Column>
);

const StateOf = (shown: Shown) => {
  switch (shown.object.state) {
    case 'synced':
      return shown.object.object_type === 'payout' ? (
        <SyncedPayout {...shown} />
      ) : (
        <SyncedInvoice {...shown} />
      );
    case 'needs_attention':
      return <NeedsAttention {...shown} />;
    case 'skipped':
      return <Skipped {...shown} />;
    case 'pending':
      return <Pending {...shown} />;
    default:
      return <NotYet {...shown} />;
  }
};

export type ObjectSyncProps = {context: ExtensionContextValue; objectId: string};

export const ObjectSync = ({context, objectId}: ObjectSyncProps) => {
  const caller = useMemo(() => syncCallerOf(context), [context]);
  const locale = context.userContext.locale;
  const words = syncWordsFor(locale);
  const [state, dispatch] = useReducer(objectReducer, {kind: 'loading'});

  const load = useCallback(async () => {
    if (caller === null) {
      dispatch({type: 'misconfigured'});
      return;
    }
    dispatch({type: 'load'});
    try {
      const answer = await objectState(caller, objectId);
      dispatch(answer.ok ? {type: 'loaded', object: answer.body} : {type: 'load_failed'});
    } catch {
      dispatch({type: 'load_failed'});
    }
  }, [caller, objectId]);

  useEffect(() => {
    void load();
  }, [load]);

  const replayNow = async () => {
    if (caller === null) {
      return;
    }
    dispatch({type: 'replaying'});
    try {
      const answer = await replay(caller, objectId);
      dispatch(
        answer.ok
          ? {type: 'replayed', object: answer.body}
          : {type: 'replay_failed', status: answer.status},
      );
    } catch {
      dispatch({type: 'replay_failed', status: null});
    }
  };

  if (state.kind === 'loading') {
    return <Spinner />;
  }
  if (state.kind === 'misconfigured') {
    return <Banner type="critical" title={SYNC_MISCONFIGURED} />;
  }
  if (state.kind === 'unreachable') {
    return (
      <Column>
        <Banner type="critical" title={words.unreachable} description={words.unreachableHelp} />
        <Button onPress={() => void load()}>{words.checkAgain}</Button>
      </Column>
    );
  }
  const {object} = state;
  const replayable = mayReplay(object);
  return (
    <Column>
      {state.notice === 'replay_refused' ? (
        <Banner type="critical" title={words.replayRefused} />
      ) : null}
      {state.notice === 'unreachable' ? (
        <Banner type="critical" title={words.unreachable} description={words.unreachableHelp} />
      ) : null}
      <StateOf object={object} words={words} locale={locale} />
      {replayable && mayChangeConnection(context) ? (
        <Column>
          <Button type="primary" pending={state.replaying} onPress={() => void replayNow()}>
            {words.replay}
          </Button>
          <Inline>{words.replayHelp}</Inline>
        </Column>
      ) : null}
      {replayable && !mayChangeConnection(context) ? (
        <Inline>{words.roleCannotChange}</Inline>
      ) : null}
      {replayable ? null : <Button onPress={() => void load()}>{words.checkAgain}</Button>}
    </Column>
  );
};
