// The sync settings (issue 25), on the app's settings page below the connection: a picker per
// choice the sync needs, filled from the merchant's own e-conomic (through sync → econ-auth's
// broker) with e-conomic's numbers and names, preselected from what is saved or else sync's
// suggestions. Save is a signed save_sync_settings; sync checks each pick against e-conomic and
// a 422 names each problem, shown here in plain words.
import {type ReactNode, useCallback, useEffect, useMemo, useReducer} from 'react';
import type {ExtensionContextValue} from '@stripe/ui-extension-sdk/context';
import {
  Badge,
  Banner,
  Box,
  Button,
  DateField,
  Inline,
  Select,
  Spinner,
} from '@stripe/ui-extension-sdk/ui';

import {mayChangeConnection} from '../roles';
import {type SyncWords, syncWordsFor} from '../words';
import {
  type Choice,
  type SettingName,
  SETTING_NAMES,
  readSettings,
  saveSettings,
  syncCallerOf,
} from './api';
import {type SettingsState, settingsOf, settingsReducer} from './settingsMachine';

// For the app's developer, like ../words.ts MISCONFIGURED: English only.
export const SYNC_MISCONFIGURED =
  "This app's sync backend is not configured: set SYNC_URL in the manifest's constants.";

const Column = ({children}: {children: ReactNode}) => (
  <Box css={{stack: 'y', gapY: 'medium'}}>{children}</Box>
);

const Heading = ({children}: {children: ReactNode}) => (
  <Inline css={{font: 'heading'}}>{children}</Inline>
);

// e-conomic's own "number · name", as the merchant knows them from e-conomic.
export const choiceLabel = (choice: Choice): string => `${choice.number} · ${choice.name}`;

type Editing = Extract<SettingsState, {kind: 'editing'}>;

const Picker = ({
  name,
  state,
  words,
  disabled,
  onChange,
}: {
  name: SettingName;
  state: Editing;
  words: SyncWords;
  disabled: boolean;
  onChange: (name: SettingName, value: string) => void;
}) => {
  const code = state.errors[name];
  const error = code !== undefined ? words.error(code) : undefined;
  const value = state.draft[name];
  if (name === 'start_date') {
    return (
      <DateField
        label={words.field(name)}
        description={words.help(name)}
        value={value}
        error={error}
        invalid={error !== undefined}
        disabled={disabled}
        onChange={(picked: string) => onChange(name, picked)}
      />
    );
  }
  const choices = state.view.choices[name] ?? [];
  // A saved pick e-conomic no longer lists still shows, by its number; saving then says why.
  const known = value === '' || choices.some((choice) => String(choice.number) === value);
  return (
    <Select
      name={name}
      label={words.field(name)}
      description={words.help(name)}
      value={value}
      error={error}
      invalid={error !== undefined}
      disabled={disabled}
      onChange={(event) => onChange(name, event.target.value)}
    >
      <option value="">{words.choose}</option>
      {known ? null : <option value={value}>{value}</option>}
      {choices.map((choice) => (
        <option key={String(choice.number)} value={String(choice.number)}>
          {choiceLabel(choice)}
        </option>
      ))}
    </Select>
  );
};

// Problems not shown beside a picker: "accounts" (two the same), a setting the view does not show.
const otherProblems = (state: Editing, words: SyncWords): string =>
  Object.entries(state.errors)
    .filter(([name]) => !(SETTING_NAMES as readonly string[]).includes(name))
    .map(([name, code]) => `${words.field(name)}: ${words.error(code)}`)
    .join(' ');

const Notice = ({state, words}: {state: Editing; words: SyncWords}) => {
  switch (state.notice) {
    case 'saved':
      return <Banner title={words.saved} />;
    case 'saved_incomplete':
      return <Banner type="caution" title={words.savedIncomplete} />;
    case 'invalid':
      return (
        <Banner
          type="critical"
          title={words.invalid}
          description={otherProblems(state, words) || undefined}
        />
      );
    case 'connect_first':
      return <Banner type="caution" title={words.connectFirst} />;
    case 'unreachable':
      return (
        <Banner type="critical" title={words.unreachable} description={words.unreachableHelp} />
      );
    default:
      return null;
  }
};

export const SyncSettings = ({context}: {context: ExtensionContextValue}) => {
  const caller = useMemo(() => syncCallerOf(context), [context]);
  const words = syncWordsFor(context.userContext.locale);
  const mayChange = mayChangeConnection(context);
  const [state, dispatch] = useReducer(settingsReducer, {kind: 'loading'});

  const load = useCallback(async () => {
    if (caller === null) {
      dispatch({type: 'misconfigured'});
      return;
    }
    dispatch({type: 'load'});
    try {
      const answer = await readSettings(caller);
      dispatch(
        answer.ok
          ? {type: 'loaded', view: answer.body}
          : {type: 'load_failed', status: answer.status},
      );
    } catch {
      dispatch({type: 'load_failed', status: null});
    }
  }, [caller]);

  useEffect(() => {
    void load();
  }, [load]);

  const save = async (editing: Editing) => {
    if (caller === null) {
      return;
    }
    dispatch({type: 'saving'});
    try {
      const answer = await saveSettings(caller, settingsOf(editing.view, editing.draft));
      if (answer.ok) {
        dispatch({type: 'saved', view: answer.body});
      } else if (answer.rejected !== null) {
        dispatch({type: 'rejected', errors: answer.rejected.errors});
      } else {
        dispatch({type: 'save_failed', status: answer.status});
      }
    } catch {
      dispatch({type: 'save_failed', status: null});
    }
  };

  let body: JSX.Element;
  if (state.kind === 'loading') {
    body = <Spinner />;
  } else if (state.kind === 'misconfigured') {
    body = <Banner type="critical" title={SYNC_MISCONFIGURED} />;
  } else if (state.kind === 'connect_first') {
    body = (
      <Column>
        <Banner type="caution" title={words.connectFirst} />
        <Button onPress={() => void load()}>{words.checkAgain}</Button>
      </Column>
    );
  } else if (state.kind === 'unreachable') {
    body = (
      <Column>
        <Banner type="critical" title={words.unreachable} description={words.unreachableHelp} />
        <Button onPress={() => void load()}>{words.checkAgain}</Button>
      </Column>
    );
  } else {
    const {view} = state;
    const change = (name: SettingName, value: string) => dispatch({type: 'changed', name, value});
    body = (
      <Column>
        <Inline>{words.settingsHelp}</Inline>
        {view.complete ? (
          <Badge type="positive">{words.on}</Badge>
        ) : (
          <Banner type="caution" title={words.off} description={words.offMissing(view.missing)} />
        )}
        {state.suggested.length > 0 ? <Banner title={words.suggested} /> : null}
        <Notice state={state} words={words} />
        {SETTING_NAMES.map((name) => (
          <Picker
            key={name}
            name={name}
            state={state}
            words={words}
            disabled={!mayChange || state.saving}
            onChange={change}
          />
        ))}
        {mayChange ? (
          <Button type="primary" pending={state.saving} onPress={() => void save(state)}>
            {words.save}
          </Button>
        ) : (
          <Inline>{words.roleCannotChange}</Inline>
        )}
      </Column>
    );
  }

  return (
    <Box css={{stack: 'y', gapY: 'large'}}>
      <Heading>{words.title}</Heading>
      {body}
    </Box>
  );
};
