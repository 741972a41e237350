/** The caller's conversations with the story agent, newest first, a page at a time. */
import { Anchor, Button, Center, Group, Loader, Paper, Stack, Text, Title, VisuallyHidden } from '@mantine/core';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { unwrap } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { usePagedList } from '../components/usePagedList';
import { useStudio } from '../studio';
import { DeleteSession } from './DeleteSession';
import { formatWhen, type SessionInfo } from './model';

const PAGE = '20';

export function SessionList() {
  const { clients } = useStudio();
  const navigate = useNavigate();
  const {
    items: sessions,
    setItems: setSessions,
    cursor,
    loading,
    loaded,
    error,
    more,
    retry,
  } = usePagedList<SessionInfo>({
    fetchPage: async (after, signal) => {
      const page = (await unwrap(clients.agent.GET('/agent/sessions', { params: { query: { limit: PAGE, ...(after ? { cursor: after } : {}) } }, signal }))).result;
      return { items: page.sessions, next: page.next_cursor };
    },
    keyOf: (s) => s.session_id,
    deps: [clients],
  });
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<unknown>();
  const [toDelete, setToDelete] = useState<SessionInfo>();
  const [status, setStatus] = useState('');

  const create = async () => {
    setCreating(true);
    setCreateError(undefined);
    try {
      const out = await unwrap(clients.agent.POST('/agent/sessions', { body: {} }));
      navigate(`/agent/${encodeURIComponent(out.result.session_id)}`);
    } catch (err) {
      setCreateError(err);
      setCreating(false);
    }
  };

  return (
    <Stack gap="md" maw={900}>
      <Group justify="space-between" align="flex-end" wrap="wrap">
        <div>
          <Title order={1}>Story agent</Title>
          <Text c="gray.7" size="sm">
            Talk with the story agent: it researches, writes, illustrates and narrates stories for you.
          </Text>
        </div>
        <Button onClick={() => void create()} loading={creating}>
          New conversation
        </Button>
      </Group>
      {createError ? <ErrorNotice error={createError} onRetry={() => void create()} onDismiss={() => setCreateError(undefined)} /> : null}
      <div>
        <Title order={2} size="h4">
          Your conversations
        </Title>
        <Text role="status" size="sm" c="gray.7" aria-live="polite">
          {status}
        </Text>
      </div>
      {error ? <ErrorNotice error={error} onRetry={retry} /> : null}
      {loaded && sessions.length === 0 && !error ? (
        <Paper withBorder p="lg" radius="md">
          <Text>No conversations yet. Start one with “New conversation”.</Text>
        </Paper>
      ) : null}
      <Stack gap="xs" component="ul" style={{ listStyle: 'none', padding: 0, margin: 0 }} aria-label="Conversations">
        {sessions.map((s) => {
          const title = s.title || 'Untitled conversation';
          return (
            <Paper key={s.session_id} component="li" withBorder p="sm" radius="md">
              <Group justify="space-between" wrap="wrap" gap="xs">
                <div style={{ minWidth: 0, flex: '1 1 240px' }}>
                  <Anchor component={Link} to={`/agent/${encodeURIComponent(s.session_id)}`} fw={600} style={{ overflowWrap: 'anywhere' }}>
                    {title}
                  </Anchor>
                  <Text size="xs" c="gray.7">
                    {formatWhen(s.updated_at)} · {s.message_count} {s.message_count === 1 ? 'message' : 'messages'}
                  </Text>
                </div>
                <Group gap="xs" wrap="nowrap">
                  <Button size="xs" variant="default" component={Link} to={`/agent/${encodeURIComponent(s.session_id)}`}>
                    Open<VisuallyHidden> {title}</VisuallyHidden>
                  </Button>
                  <Button size="xs" variant="light" color="red" onClick={() => setToDelete(s)}>
                    Delete<VisuallyHidden> {title}</VisuallyHidden>
                  </Button>
                </Group>
              </Group>
            </Paper>
          );
        })}
      </Stack>
      {loading ? (
        <Center>
          <Loader size="sm" aria-label="Loading conversations" />
        </Center>
      ) : null}
      {cursor && !loading && !error ? (
        <Center>
          <Button variant="default" onClick={more}>
            Load more
          </Button>
        </Center>
      ) : null}
      <DeleteSession
        session={toDelete}
        onClose={() => setToDelete(undefined)}
        onDeleted={(id) => {
          const gone = sessions.find((s) => s.session_id === id);
          setSessions((prev) => prev.filter((s) => s.session_id !== id));
          setToDelete(undefined);
          setStatus(`Deleted “${gone?.title || 'Untitled conversation'}”.`);
        }}
      />
    </Stack>
  );
}
