/** One prompt: its current text (view or edit), the placeholders it must keep, and its version history. */
import { Alert, Badge, Box, Button, Center, Code, Group, Loader, Paper, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { unwrap } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { useStudio } from '../studio';
import { ConfirmModal } from '../components/ConfirmModal';
import { formatBytes, formatDate, placeholdersIn } from './format';
import type { PromptEntry, PromptPut, PromptRollback, PromptVersion } from './types';
import { useLoad } from './useLoad';

const MONO = { input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 'var(--mantine-font-size-sm)' } };
const PAGE = 10;
const VERSIONS_MAX = 100;

export function PromptDetail({ assistant, entry, onChanged, autoFocus }: { assistant: string; entry: PromptEntry; onChanged: () => void; autoFocus?: boolean }) {
  const { clients } = useStudio();
  const name = entry.name;
  const path = { assistant, name };
  const headingId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const prompt = useLoad((signal) => unwrap(clients.api.GET('/admin/prompts/{assistant}/{name}', { params: { path }, signal })).then((r) => r.result), [clients, assistant, name]);
  const [limit, setLimit] = useState(PAGE);
  const versions = useLoad(
    (signal) => unwrap(clients.api.GET('/admin/prompts/{assistant}/{name}/versions', { params: { path, query: { limit: String(limit) } }, signal })).then((r) => r.result),
    [clients, assistant, name, limit],
  );

  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const [confirmSave, setConfirmSave] = useState(false);
  const [saveError, setSaveError] = useState<unknown>();
  const [notice, setNotice] = useState('');
  const [rollbackTo, setRollbackTo] = useState<PromptVersion>();

  useEffect(() => {
    if (autoFocus) headingRef.current?.focus();
  }, [autoFocus]);

  const used = useMemo(() => placeholdersIn(draft), [draft]);
  const missing = entry.placeholders.filter((p) => !used.has(p));
  const unknown = [...used].filter((p) => !entry.placeholders.includes(p));

  const refresh = () => {
    prompt.reload();
    versions.reload();
    onChanged();
  };

  const startEdit = () => {
    setDraft(prompt.data?.text ?? '');
    setSaveError(undefined);
    setNotice('');
    setEditing(true);
  };

  const save = async () => {
    setSaveError(undefined);
    const body: PromptPut = { text: draft };
    try {
      const saved = (await unwrap(clients.api.PUT('/admin/prompts/{assistant}/{name}', { params: { path }, body }))).result;
      setEditing(false);
      setNotice(`Saved a new version of ${assistant}/${name} (version ${saved.version}). Every process serves it within ${Math.round(saved.cache_ttl_ms / 1000)} s, or at once after a cache reload.`);
      refresh();
    } catch (err) {
      setSaveError(err);
    }
  };

  const rollback = async (v: PromptVersion) => {
    const body: PromptRollback = { version_id: v.version_id };
    const saved = (await unwrap(clients.api.POST('/admin/prompts/{assistant}/{name}/rollback', { params: { path }, body }))).result;
    setEditing(false);
    setNotice(`Rolled back: the text of the version of ${formatDate(v.last_modified)} is now the current version (${saved.version}).`);
    refresh();
  };

  const p = prompt.data;
  const list = versions.data?.versions ?? [];

  return (
    <Stack gap="md" component="section" aria-labelledby={headingId}>
      <Title order={2} size="h3" id={headingId} ref={headingRef} tabIndex={-1} style={{ overflowWrap: 'anywhere' }}>
        {assistant}/{name}
      </Title>
      <Text size="sm">{entry.description}</Text>

      <Box role="status" aria-live="polite">
        {notice ? (
          <Alert color="green" variant="light" title="Done" styles={{ title: { color: 'var(--mantine-color-green-9)' } }}>
            {notice}
          </Alert>
        ) : null}
      </Box>

      {prompt.error !== undefined ? <ErrorNotice error={prompt.error} onRetry={prompt.reload} /> : null}
      {prompt.loading && !p ? (
        <Center py="md">
          <Loader aria-label="Loading the prompt" />
        </Center>
      ) : null}

      {p ? (
        <>
          <Group gap="xs" wrap="wrap">
            <Badge color={p.source === 's3' ? 'indigo.8' : 'gray.7'} variant="filled">
              {p.source === 's3' ? 'From the prompts bucket' : 'Bundled copy'}
            </Badge>
            <Text size="sm">
              Version <Code style={{ overflowWrap: 'anywhere' }}>{p.version}</Code>
            </Text>
            <Text size="sm">Last change: {p.last_modified ? formatDate(p.last_modified) : 'never (bundled)'}</Text>
          </Group>

          <Box>
            <Text size="sm" fw={600} id={`${headingId}-ph`}>
              Placeholders this prompt must keep
            </Text>
            {entry.placeholders.length === 0 ? (
              <Text size="sm" c="gray.7">
                None: this prompt takes no placeholders.
              </Text>
            ) : (
              <Group gap={6} mt={4} role="list" aria-labelledby={`${headingId}-ph`}>
                {entry.placeholders.map((ph) => {
                  const gone = editing && !used.has(ph);
                  return (
                    <Badge key={ph} role="listitem" variant={gone ? 'filled' : 'outline'} color={gone ? 'red.8' : 'gray.8'} tt="none" ff="monospace">
                      {`{{${ph}}}`}
                      {gone ? ' (missing)' : ''}
                    </Badge>
                  );
                })}
              </Group>
            )}
          </Box>

          {editing ? (
            <>
              <Textarea label="Prompt text" description="Edit the text; saving stores it as a new version." value={draft} onChange={(e) => setDraft(e.currentTarget.value)} autosize minRows={8} maxRows={30} styles={MONO} spellCheck={false} />
              {missing.length > 0 || unknown.length > 0 ? (
                <Alert color="orange" variant="light" title="Check the placeholders" role="alert" styles={{ title: { color: 'var(--mantine-color-orange-9)' } }}>
                  {missing.length > 0 ? <Text size="sm">Missing: {missing.map((m) => `{{${m}}}`).join(', ')}. The code fills these in; without them the model does not see that value.</Text> : null}
                  {unknown.length > 0 ? <Text size="sm">Not known for this prompt (the API will refuse them): {unknown.map((m) => `{{${m}}}`).join(', ')}.</Text> : null}
                </Alert>
              ) : null}
              {saveError !== undefined ? <ErrorNotice error={saveError} onDismiss={() => setSaveError(undefined)} /> : null}
              <Group gap="xs">
                <Button onClick={() => setConfirmSave(true)} disabled={draft.trim() === '' || draft === p.text}>
                  Save new version
                </Button>
                <Button variant="default" onClick={() => setEditing(false)}>
                  Cancel
                </Button>
              </Group>
            </>
          ) : (
            <>
              <Textarea label="Prompt text" value={p.text} readOnly autosize minRows={4} maxRows={24} styles={MONO} />
              <Group gap="xs">
                <Button onClick={startEdit}>Edit</Button>
              </Group>
            </>
          )}
        </>
      ) : null}

      <Paper withBorder p="sm" component="section" aria-labelledby={`${headingId}-history`}>
        <Stack gap="sm">
          <Title order={3} size="h4" id={`${headingId}-history`}>
            Version history
          </Title>
          {versions.error !== undefined ? <ErrorNotice error={versions.error} onRetry={versions.reload} /> : null}
          {versions.loading && !versions.data ? <Loader size="sm" aria-label="Loading the version history" /> : null}
          {versions.data && list.length === 0 ? (
            <Text size="sm" c="gray.7">
              {versions.data.history === 'none' ? 'No prompts bucket: there is no history.' : 'No stored versions yet: the bundled copy is served.'}
            </Text>
          ) : null}
          {list.length > 0 ? (
            <Table.ScrollContainer minWidth={300}>
              <Table verticalSpacing="xs" aria-label={`Versions of ${assistant}/${name}, newest first`}>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Stored</Table.Th>
                    <Table.Th>Size</Table.Th>
                    <Table.Th>Version</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {list.map((v) => {
                    const rowId = `${headingId}-v-${v.version_id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
                    return (
                      <Table.Tr key={v.version_id} data-testid="prompt-version">
                        <Table.Td id={rowId}>{formatDate(v.last_modified)}</Table.Td>
                        <Table.Td>{formatBytes(v.size)}</Table.Td>
                        <Table.Td>
                          <Stack gap={4} align="flex-start">
                            <Code style={{ overflowWrap: 'anywhere' }}>{v.version_id}</Code>
                            {v.is_latest ? (
                              <Badge size="sm" color="green.9">
                                Current
                              </Badge>
                            ) : (
                              <Button size="compact-sm" variant="light" aria-describedby={rowId} onClick={() => setRollbackTo(v)}>
                                Roll back to this version
                              </Button>
                            )}
                          </Stack>
                        </Table.Td>
                      </Table.Tr>
                    );
                  })}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          ) : null}
          {versions.data && list.length >= limit && limit < VERSIONS_MAX ? (
            <Button variant="default" size="xs" loading={versions.loading} onClick={() => setLimit((l) => Math.min(VERSIONS_MAX, l + PAGE))} style={{ alignSelf: 'flex-start' }}>
              Show older versions
            </Button>
          ) : null}
        </Stack>
      </Paper>

      <ConfirmModal opened={confirmSave} title="Save a new version?" confirmLabel="Save" onConfirm={save} onClose={() => setConfirmSave(false)}>
        <Stack gap="xs">
          <Text size="sm">
            The text becomes the current version of {assistant}/{name}; the story routes use it within the cache time (at once in this process after a reload). The old text stays in the history.
          </Text>
          {missing.length > 0 ? (
            <Text size="sm" c="red.9">
              It lacks {missing.map((m) => `{{${m}}}`).join(', ')}.
            </Text>
          ) : null}
        </Stack>
      </ConfirmModal>
      <ConfirmModal
        opened={rollbackTo !== undefined}
        title="Roll back to this version?"
        confirmLabel="Roll back"
        onConfirm={() => (rollbackTo ? rollback(rollbackTo) : Promise.resolve())}
        onClose={() => setRollbackTo(undefined)}
      >
        {`The text of the version of ${rollbackTo ? formatDate(rollbackTo.last_modified) : ''} is stored again as a new current version of ${assistant}/${name}. Nothing in the history is removed.`}
      </ConfirmModal>
    </Stack>
  );
}
