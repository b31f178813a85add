// The drawer's home, below the connection (issue 25): whether sync is on, how many invoices it
// synced today, what needs attention (each naming its invoice or payout, linked to its page), the
// last error, and a payout's booking. Stripe has no payout page viewport (README, "Publishing the
// Stripe App"), so a payout's voucher, fees and suspense are looked up here.
import {type ReactNode, useCallback, useEffect, useMemo, useReducer} from 'react';
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';
import {
  Badge,
  Banner,
  Box,
  Button,
  Divider,
  Inline,
  Link,
  PropertyList,
  PropertyListItem,
  Spinner,
  TextField,
} from '@stripe/ui-extension-sdk/ui';

import {type SyncWords, syncWordsFor} from '../words';
import {type ObjectState, type SyncCaller, summary, syncCallerOf} from './api';
import {homeReducer, lookupReducer} from './homeMachine';
import {dashboardUrl} from './links';
import {ObjectSync} from './ObjectSync';

const Column = ({children}: {children: ReactNode}) => (
  <Box css={{stack: 'y', gapY: 'medium'}}>{children}</Box>
);

const named = (object: ObjectState, words: SyncWords): string =>
  object.object_type === 'payout'
    ? words.payoutNamed(object.object_id)
    : words.invoiceNamed(object.object_id);

const Waiting = ({
  waiting,
  caller,
  words,
  onOpen,
}: {
  waiting: ObjectState[];
  caller: SyncCaller;
  words: SyncWords;
  onOpen: (id: string) => void;
}) =>
  waiting.length === 0 ? (
    <Inline>{words.nothingWaiting}</Inline>
  ) : (
    <Column>
      {waiting.map((object) => (
        <Box key={object.object_id} css={{stack: 'y', gapY: 'xsmall'}}>
          <Link href={dashboardUrl(caller, object.object_id)}>{named(object, words)}</Link>
          <Inline>{words.reason(object.reason)}</Inline>
          {object.object_type === 'payout' ? (
            <Button size="small" onPress={() => onOpen(object.object_id)}>
              {words.payoutShow}
            </Button>
          ) : null}
        </Box>
      ))}
    </Column>
  );

// The last error: what, why, and e-conomic's own message when it gave one.
const lastError = (object: ObjectState, words: SyncWords): string =>
  [named(object, words), words.reason(object.reason), object.economic?.message]
    .filter(Boolean)
    .join(' · ');

export const SyncHome = ({context}: {context: ExtensionContextValue}) => {
  const caller = useMemo(() => syncCallerOf(context), [context]);
  const words = syncWordsFor(context.userContext.locale);
  const [state, dispatch] = useReducer(homeReducer, {kind: 'loading'});
  const [lookup, look] = useReducer(lookupReducer, {text: '', error: null, shown: null});

  const load = useCallback(async () => {
    if (caller === null) {
      return;
    }
    dispatch({type: 'load'});
    try {
      const answer = await summary(caller);
      dispatch(answer.ok ? {type: 'loaded', summary: answer.body} : {type: 'load_failed'});
    } catch {
      dispatch({type: 'load_failed'});
    }
  }, [caller]);

  useEffect(() => {
    void load();
  }, [load]);

  // Without SYNC_URL the settings page says the manifest lacks it; the drawer shows the
  // connection alone.
  if (caller === null) {
    return null;
  }

  let body: JSX.Element;
  if (state.kind === 'loading') {
    body = <Spinner />;
  } else if (state.kind === 'unreachable') {
    body = (
      <Column>
        <Banner type="critical" title={words.unreachable} description={words.unreachableHelp} />
        <Button onPress={() => void load()}>{words.checkAgain}</Button>
      </Column>
    );
  } else {
    const {summary: sum} = state;
    body = (
      <Column>
        {sum.enabled ? (
          <Badge type="positive">{words.on}</Badge>
        ) : (
          <Banner
            type="caution"
            title={words.off}
            description={sum.why_off === 'settings_incomplete' ? words.offSettings : undefined}
          />
        )}
        <PropertyList>
          <PropertyListItem label={words.label.syncedToday} value={String(sum.synced_today)} />
          <PropertyListItem
            label={words.state.needsAttention}
            value={String(sum.needs_attention.length)}
          />
          {sum.last_error !== null ? (
            <PropertyListItem
              label={words.label.lastError}
              value={lastError(sum.last_error, words)}
            />
          ) : null}
        </PropertyList>
        <Waiting
          waiting={sum.needs_attention}
          caller={caller}
          words={words}
          onOpen={(id) => look({type: 'opened', id})}
        />
        <Button onPress={() => void load()}>{words.checkAgain}</Button>
      </Column>
    );
  }

  return (
    <Box css={{stack: 'y', gapY: 'large'}}>
      <Divider />
      <Inline css={{font: 'heading'}}>{words.title}</Inline>
      {body}
      <Divider />
      <Column>
        <TextField
          label={words.payoutLookup}
          description={words.payoutLookupHelp}
          placeholder="po_…"
          value={lookup.text}
          error={lookup.error === 'bad_id' ? words.payoutBadId : undefined}
          invalid={lookup.error !== null}
          onChange={(event) => look({type: 'typed', text: event.target.value})}
        />
        <Button onPress={() => look({type: 'submitted'})}>{words.payoutShow}</Button>
        {lookup.shown !== null ? (
          <ObjectSync key={lookup.shown} context={context} objectId={lookup.shown} />
        ) : null}
      </Column>
    </Box>
  );
};
