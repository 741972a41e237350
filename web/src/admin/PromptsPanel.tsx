/** The Prompts tab: every assistant's prompts, one prompt's text and history, and the cache reload. */
import { Alert, Badge, Box, Button, Center, Grid, Group, Loader, NavLink, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { unwrap } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { useStudio } from '../studio';
import { PromptDetail } from './PromptDetail';
import type { PromptReload } from './types';
import { useLoad } from './useLoad';

export function PromptsPanel() {
  const { clients } = useStudio();
  const [params, setParams] = useSearchParams();
  const list = useLoad((signal) => unwrap(clients.api.GET('/admin/prompts', { signal })).then((r) => r.result), [clients]);
  const [reloading, setReloading] = useState(false);
  const [reloaded, setReloaded] = useState<PromptReload>();
  const [reloadError, setReloadError] = useState<unknown>();
  const [picked, setPicked] = useState(false);

  const selected = params.get('prompt') ?? '';
  const [selAssistant = '', selName = ''] = selected.split('/');
  const select = (assistant: string, name: string) => {
    const next = new URLSearchParams(params);
    next.set('prompt', `${assistant}/${name}`);
    setParams(next);
    setPicked(true);
  };

  const reloadCache = async () => {
    setReloading(true);
    setReloadError(undefined);
    setReloaded(undefined);
    try {
      setReloaded((await unwrap(clients.api.POST('/admin/prompts/reload'))).result);
    } catch (err) {
      setReloadError(err);
    } finally {
      setReloading(false);
    }
  };

  const entry = list.data?.assistants.find((a) => a.assistant === selAssistant)?.prompts.find((p) => p.name === selName);

  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-start" gap="sm">
        <Box>
          {list.data ? (
            <Text size="sm" c="gray.7">
              {list.data.bucket ? (
                <>
                  Bucket <Text span ff="monospace">{list.data.bucket}</Text> · history: {list.data.history} · cache {Math.round(list.data.cache_ttl_ms / 1000)} s
                </>
              ) : (
                'No prompts bucket is configured: the bundled prompts are served.'
              )}
            </Text>
          ) : null}
        </Box>
        <Button variant="default" onClick={() => void reloadCache()} loading={reloading}>
          Reload prompt cache
        </Button>
      </Group>
      <Box role="status" aria-live="polite">
        {reloaded ? (
          <Text size="sm" c="green.9">
            Prompt cache reloaded: {reloaded.cached_prompts} cached {reloaded.cached_prompts === 1 ? 'prompt was' : 'prompts were'} dropped; the next use of each asks the bucket.
          </Text>
        ) : null}
      </Box>
      {reloadError !== undefined ? <ErrorNotice error={reloadError} onRetry={() => void reloadCache()} onDismiss={() => setReloadError(undefined)} /> : null}

      {list.error !== undefined ? <ErrorNotice error={list.error} onRetry={list.reload} /> : null}
      {list.loading && !list.data ? (
        <Center py="lg">
          <Loader aria-label="Loading prompts" />
        </Center>
      ) : null}
      {list.data ? (
        <Grid gap="lg">
          <Grid.Col span={{ base: 12, md: 4 }}>
            <Stack gap="sm" component="nav" aria-labelledby="admin-prompt-list-title">
              <Title order={2} size="h4" id="admin-prompt-list-title">
                Assistants and prompts
              </Title>
              {list.data.assistants.map((a) => (
                <Box key={a.assistant} role="group" aria-labelledby={`assistant-${a.assistant}`}>
                  <Title order={3} size="h5" id={`assistant-${a.assistant}`} mb={4}>
                    {a.assistant}
                  </Title>
                  {a.prompts.map((p) => {
                    const active = p.name === selName && a.assistant === selAssistant;
                    return (
                      <NavLink
                        key={p.name}
                        component="button"
                        type="button"
                        active={active}
                        aria-current={active ? 'true' : undefined}
                        label={`${a.assistant}/${p.name}`}
                        description={p.description}
                        rightSection={p.stored ? undefined : <Badge size="xs" variant="outline" color="gray.8">bundled</Badge>}
                        onClick={() => select(a.assistant, p.name)}
                        styles={{ description: { color: active ? undefined : 'var(--mantine-color-gray-7)' } }}
                      />
                    );
                  })}
                </Box>
              ))}
            </Stack>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 8 }}>
            {entry ? (
              <PromptDetail key={`${selAssistant}/${selName}`} assistant={selAssistant} entry={entry} onChanged={list.reload} autoFocus={picked} />
            ) : selected ? (
              <Alert color="gray" title="No such prompt">
                {selected} is not one of the listed prompts. Choose one from the list.
              </Alert>
            ) : (
              <Text c="gray.7">Choose a prompt to see its text and history.</Text>
            )}
          </Grid.Col>
        </Grid>
      ) : null}
    </Stack>
  );
}
