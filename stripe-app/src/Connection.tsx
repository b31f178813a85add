// Where the merchant's e-conomic connection stands, and the buttons that change it. Shown in the
// Dashboard drawer and on the app's settings page.
import {type ReactNode, useCallback, useEffect, useMemo, useState} from 'react';
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

import {
  type AccountStatus,
  type Answer,
  type Answered,
  type Caller,
  type ConnectLink,
  type JoinRequest,
  approveJoin,
  callerOf,
  cancelJoin,
  disconnect,
  fetchStatus,
  mintConnectLink,
  refuseJoin,
} from './backend';
import {mayAnswerJoinRequest, mayChangeConnection} from './roles';
import {reasonText, wordsFor} from './words';

// How often to ask again while the merchant is away at e-conomic, or a disconnect settles.
export const POLL_MS = 2000;
// A disconnect shows in the status within a second or two; stop asking well after that.
const DISCONNECT_SETTLES_MS = 60_000;

type Load =
  | {kind: 'loading'}
  | {kind: 'misconfigured'}
  | {kind: 'unreachable'}
  | {kind: 'not_installed'}
  | {kind: 'loaded'; status: AccountStatus};

type Step =
  | {kind: 'idle'}
  | {kind: 'confirm-connect'; link: ConnectLink | null}
  | {kind: 'connecting'; link: ConnectLink; from: string}
  | {kind: 'confirm-disconnect'}
  | {kind: 'disconnecting'; from: string}
  // An approval, refusal or cancellation of a request to join a company, settling.
  | {kind: 'answering'; from: string};

const Column = ({children}: {children: ReactNode}) => (
  <Box css={{stack: 'y', gapY: 'medium'}}>{children}</Box>
);
const Row = ({children}: {children: ReactNode}) => (
  <Box css={{stack: 'x', gapX: 'small'}}>{children}</Box>
);

// The part of the status a connect or disconnect changes: when it differs, the merchant is back.
const fingerprint = (status: AccountStatus | null): string =>
  JSON.stringify(status?.economic ?? null);

export type ConnectionProps = {context: ExtensionContextValue; pollMs?: number};

export const Connection = ({context, pollMs = POLL_MS}: ConnectionProps) => {
  const caller = useMemo(() => callerOf(context), [context]);
  const words = wordsFor(context.userContext.locale);
  const [load, setLoad] = useState<Load>({kind: 'loading'});
  const [step, setStep] = useState<Step>({kind: 'idle'});
  const [notice, setNotice] = useState<string | null>(null);

  const refresh = useCallback(async (): Promise<AccountStatus | null> => {
    if (caller === null) {
      setLoad({kind: 'misconfigured'});
      return null;
    }
    try {
      const answer = await fetchStatus(caller);
      if (answer.ok) {
        setLoad({kind: 'loaded', status: answer.body});
        return answer.body;
      }
      setLoad(answer.status === 404 ? {kind: 'not_installed'} : {kind: 'unreachable'});
    } catch {
      setLoad({kind: 'unreachable'});
    }
    return null;
  }, [caller]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // Refresh on return: while the merchant is at e-conomic, or a disconnect settles, ask again
  // until the connection has changed, so no manual reload is ever needed.
  useEffect(() => {
    if (step.kind !== 'connecting' && step.kind !== 'disconnecting' && step.kind !== 'answering') {
      return undefined;
    }
    const deadline =
      step.kind === 'connecting'
        ? Date.parse(step.link.expires_at)
        : Date.now() + DISCONNECT_SETTLES_MS;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      const status = await refresh();
      if (stopped) {
        return;
      }
      if ((status !== null && fingerprint(status) !== step.from) || Date.now() > deadline) {
        setStep({kind: 'idle'});
        return;
      }
      timer = setTimeout(() => void poll(), pollMs);
    };
    timer = setTimeout(() => void poll(), pollMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [step, refresh, pollMs]);

  const current = load.kind === 'loaded' ? load.status : null;

  const startConnect = async (signed: Caller) => {
    setNotice(null);
    setStep({kind: 'confirm-connect', link: null});
    try {
      const answer = await mintConnectLink(signed);
      if (answer.ok) {
        setStep({kind: 'confirm-connect', link: answer.body});
        return;
      }
      setNotice(answer.problem?.message ?? words.linkRefused);
    } catch {
      setNotice(words.linkRefused);
    }
    setStep({kind: 'idle'});
  };

  const confirmDisconnect = async (signed: Caller) => {
    setNotice(null);
    try {
      const answer = await disconnect(signed);
      if (answer.ok) {
        // The disconnected state says what happened and where to remove the app in e-conomic.
        setStep({kind: 'disconnecting', from: fingerprint(current)});
        return;
      }
    } catch {
      // Said below, the same as a refusal.
    }
    setNotice(words.unreachableHelp);
    setStep({kind: 'idle'});
  };

  const answer = async (call: () => Promise<Answer<Answered>>) => {
    setNotice(null);
    try {
      const answered = await call();
      if (answered.ok) {
        setStep({kind: 'answering', from: fingerprint(current)});
        return;
      }
      setNotice(answered.problem?.message ?? words.unreachableHelp);
    } catch {
      setNotice(words.unreachableHelp);
    }
    setStep({kind: 'idle'});
  };

  if (load.kind === 'loading') {
    return (
      <Row>
        <Spinner />
        <Inline>{words.loading}</Inline>
      </Row>
    );
  }
  if (load.kind === 'misconfigured' || caller === null) {
    return <Banner type="critical" title={words.misconfigured} />;
  }
  if (load.kind === 'unreachable') {
    return (
      <Column>
        <Banner type="critical" title={words.unreachable} description={words.unreachableHelp} />
        <Button onPress={() => void refresh()}>{words.tryAgain}</Button>
      </Column>
    );
  }
  if (load.kind === 'not_installed') {
    return (
      <Column>
        <Inline css={{font: 'heading'}}>{words.notInstalled}</Inline>
        <Inline>{words.notInstalledHelp}</Inline>
        <Button onPress={() => void refresh()}>{words.checkAgain}</Button>
      </Column>
    );
  }

  const {status} = load;
  const economic = status.economic;
  const connect = () => void startConnect(caller);
  // A role that may not change the connection sees it, and why it has no buttons (roles.ts).
  const mayChange = mayChangeConnection(context);
  const actions = (buttons: JSX.Element) =>
    mayChange ? buttons : <Inline>{words.roleCannotChange}</Inline>;

  // Another Stripe account asks to join the company this one is connected to: a user who may
  // change where books go approves or refuses; the account is named by its id, and by the name
  // Stripe knows it by when we have one (which its owner chose: the id is what to check).
  const mayAnswer = mayAnswerJoinRequest(context);
  // econ-auth closes each request it drops (expired within the hour), so none is filtered here:
  // the merchant's clock is not ours.
  const requests = economic.join_requests ?? [];
  const requestOf = (request: JoinRequest) => {
    const named = request.account_name
      ? `${request.account_id} (${request.account_name})`
      : request.account_id;
    const who = request.livemode ? named : `${named} · ${words.testMode}`;
    return (
      <Column key={`${request.account_id}:${String(request.livemode)}`}>
        <Banner
          type="caution"
          title={words.joinRequest(who, request.company_name)}
          description={words.joinRequestHelp(request.company_name)}
        />
        {mayAnswer ? (
          <Row>
            <Button type="primary" onPress={() => void answer(() => approveJoin(caller, request))}>
              {words.approveJoin}
            </Button>
            <Button type="destructive" onPress={() => void answer(() => refuseJoin(caller, request))}>
              {words.refuseJoin}
            </Button>
          </Row>
        ) : (
          <Inline>{words.roleCannotChange}</Inline>
        )}
      </Column>
    );
  };
  // This account waits for the approval of the account already connected to the company.
  const awaiting = economic.awaiting_consent ?? null;
  const cancelRequest = mayAnswer ? (
    <Button onPress={() => void answer(() => cancelJoin(caller))}>{words.cancelJoin}</Button>
  ) : (
    <Inline>{words.roleCannotChange}</Inline>
  );

  let body: JSX.Element;
  if (step.kind === 'confirm-connect') {
    body = (
      <Column>
        <Inline>{words.confirm}</Inline>
        <Row>
          <Button
            type="primary"
            href={step.link?.url}
            target="_blank"
            pending={step.link === null}
            onPress={() => {
              if (step.link !== null) {
                setStep({kind: 'connecting', link: step.link, from: fingerprint(status)});
              }
            }}
          >
            {words.openEconomic}
          </Button>
          <Button onPress={() => setStep({kind: 'idle'})}>{words.cancel}</Button>
        </Row>
      </Column>
    );
  } else if (step.kind === 'connecting') {
    body = (
      <Column>
        <Inline css={{font: 'heading'}}>{words.connecting}</Inline>
        <Inline>{words.connectingHelp}</Inline>
        <Spinner />
        <Button onPress={() => setStep({kind: 'idle'})}>{words.cancel}</Button>
      </Column>
    );
  } else if (step.kind === 'confirm-disconnect') {
    body = (
      <Column>
        <Inline css={{font: 'heading'}}>{words.confirmDisconnectTitle}</Inline>
        <Inline>{words.confirmDisconnect}</Inline>
        <Row>
          <Button type="destructive" onPress={() => void confirmDisconnect(caller)}>
            {words.disconnect}
          </Button>
          <Button onPress={() => setStep({kind: 'idle'})}>{words.cancel}</Button>
        </Row>
      </Column>
    );
  } else if (step.kind === 'disconnecting') {
    body = (
      <Column>
        <Inline css={{font: 'heading'}}>{words.disconnecting}</Inline>
        <Spinner />
      </Column>
    );
  } else if (step.kind === 'answering') {
    body = (
      <Row>
        <Spinner />
        <Inline>{words.loading}</Inline>
      </Row>
    );
  } else if (awaiting !== null && economic.state !== 'connected') {
    body = (
      <Column>
        <Inline css={{font: 'heading'}}>{words.awaitingConsent(awaiting.company_name)}</Inline>
        <Inline>{words.awaitingConsentHelp(awaiting.expires_at.slice(0, 10))}</Inline>
        {cancelRequest}
      </Column>
    );
  } else if (economic.state === 'connected') {
    body = (
      <Column>
        {economic.developer_agreement ? (
          <Badge type="warning">{words.connectedDeveloper}</Badge>
        ) : (
          <Badge type="positive">{words.connected}</Badge>
        )}
        <PropertyList>
          <PropertyListItem label={words.company} value={economic.company_name ?? ''} />
          <PropertyListItem label={words.agreement} value={String(economic.agreement_number)} />
        </PropertyList>
        {economic.developer_agreement ? (
          <Banner type="caution" title={words.developerWarning} />
        ) : null}
        {economic.warning === 'agreement_shared' ? (
          <Banner type="caution" title={words.sharedWarning(economic.shared_with_count)} />
        ) : null}
        {requests.map(requestOf)}
        {awaiting !== null ? (
          <Column>
            <Banner
              title={words.awaitingConsent(awaiting.company_name)}
              description={words.awaitingConsentHelp(awaiting.expires_at.slice(0, 10))}
            />
            {cancelRequest}
          </Column>
        ) : null}
        {actions(
          <Row>
            <Button onPress={connect}>{words.connectOther}</Button>
            <Button type="destructive" onPress={() => setStep({kind: 'confirm-disconnect'})}>
              {words.disconnect}
            </Button>
          </Row>,
        )}
      </Column>
    );
  } else if (economic.state === 'failed') {
    body = (
      <Column>
        <Banner type="critical" title={words.failed} description={reasonText(words, economic.reason)} />
        {actions(
          <Button type="primary" onPress={connect}>
            {words.tryAgain}
          </Button>,
        )}
      </Column>
    );
  } else if (economic.state === 'disconnected') {
    body = (
      <Column>
        <Inline css={{font: 'heading'}}>{words.disconnected}</Inline>
        <Inline>{reasonText(words, economic.reason)}</Inline>
        {economic.reason === 'merchant_request' ? <Inline>{words.removeInEconomic}</Inline> : null}
        {actions(
          <Button type="primary" onPress={connect}>
            {words.reconnect}
          </Button>,
        )}
      </Column>
    );
  } else {
    body = (
      <Column>
        <Inline css={{font: 'heading'}}>{words.notConnected}</Inline>
        <Inline>{words.notConnectedHelp}</Inline>
        {actions(
          <Button type="primary" onPress={connect}>
            {words.connect}
          </Button>,
        )}
      </Column>
    );
  }

  return (
    <Box css={{stack: 'y', gapY: 'large'}}>
      {caller.livemode ? null : <Badge type="info">{words.testMode}</Badge>}
      {notice !== null ? <Banner title={notice} onDismiss={() => setNotice(null)} /> : null}
      {body}
    </Box>
  );
};
