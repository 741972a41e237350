/**
 * One conversation with the story agent: its past messages, then each new turn as it happens
 * (text, tool calls, progress, sources, pictures, narration, files), and the message box.
 */
import { Anchor, Box, Button, Center, Grid, Group, Loader, Paper, Stack, Text, Textarea, Title } from '@mantine/core';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { streamCall, unwrap } from '../api/client';
import { LIMITS } from '../api/limits';
import { ErrorNotice } from '../components/ErrorNotice';
import { useStudio } from '../studio';
import { CurrentStory } from './CurrentStory';
import { DeleteSession } from './DeleteSession';
import { HistoryView } from './HistoryView';
import { applyEvent, formatWhen, type MessageEnvelope, type SessionDetail, type Turn } from './model';
import { FileLinks, TurnView } from './TurnView';
import { useStickToBottom } from './useStickToBottom';

const MESSAGE_MAX = LIMITS.agent_message.message.maxLength;
const EXAMPLES = ['Make me a 4-panel illustrated story about a brave snail, and narrate it', 'Research honey bees and write a short non-fiction audio story'];

export function Conversation({ sessionId }: { sessionId: string }) {
  const { clients } = useStudio();
  const navigate = useNavigate();
  const [detail, setDetail] = useState<SessionDetail>();
  const [loadError, setLoadError] = useState<unknown>();
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState('');
  const [running, setRunning] = useState(false);
  const [storyVersion, setStoryVersion] = useState(0);
  const [deleting, setDeleting] = useState(false);
  const abort = useRef<AbortController | undefined>(undefined);
  const nextId = useRef(1);
  const box = useRef<HTMLTextAreaElement>(null);
  const { follow, stick } = useStickToBottom();

  const load = useCallback(
    (signal?: AbortSignal) => {
      setLoadError(undefined);
      unwrap(clients.agent.GET('/agent/sessions/{session_id}', { params: { path: { session_id: sessionId } }, signal }))
        .then((out) => setDetail(out.result))
        .catch((err: unknown) => {
          if (!signal?.aborted) setLoadError(err);
        });
    },
    [clients, sessionId],
  );

  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal);
    return () => controller.abort();
  }, [load]);

  // A turn still streaming stops when the page goes.
  useEffect(() => () => abort.current?.abort(), []);

  // New content: follow it if the reader is at the bottom.
  useLayoutEffect(() => {
    follow();
  }, [turns, follow]);

  // A conversation opens at its latest message (once, when its history first arrives).
  const historyShown = detail !== undefined;
  useLayoutEffect(() => {
    if (historyShown) stick();
  }, [historyShown, stick]);

  /** The session's files and story after a turn (the transcript stays as it streamed). */
  const refresh = useCallback(() => {
    unwrap(clients.agent.GET('/agent/sessions/{session_id}', { params: { path: { session_id: sessionId } } }))
      .then((out) => setDetail((d) => (d ? { ...d, session: out.result.session, artifacts: out.result.artifacts, story: out.result.story, story_job_id: out.result.story_job_id } : out.result)))
      .catch(() => undefined);
  }, [clients, sessionId]);

  const update = (id: number, change: (t: Turn) => Turn) => setTurns((ts) => ts.map((t) => (t.id === id ? change(t) : t)));

  const send = async (message: string, replacing?: number) => {
    const text = message.trim();
    if (!text || running || text.length > MESSAGE_MAX) return;
    const id = nextId.current++;
    const turn: Turn = { id, message: text, items: [], status: 'running', activity: 'Sending your message…' };
    setTurns((ts) => [...ts.filter((t) => t.id !== replacing), turn]);
    setDraft('');
    setRunning(true);
    // The Send button is disabled while the turn runs: keep the focus in the message box.
    box.current?.focus();
    stick();
    const controller = new AbortController();
    abort.current = controller;
    try {
      const out = await streamCall<MessageEnvelope>(
        (init) => clients.agent.POST('/agent/sessions/{session_id}/messages', { params: { path: { session_id: sessionId } }, body: { message: text }, ...init }),
        (e) => update(id, (t) => applyEvent(t, e)),
        controller.signal,
      );
      update(id, (t) => ({ ...t, status: 'done', result: out.result, activity: 'Done' }));
      setDetail((d) => (d ? { ...d, session: out.result.session, story: out.result.story, story_job_id: out.result.story_job_id } : d));
      refresh();
      setStoryVersion((v) => v + 1);
    } catch (err) {
      update(id, (t) => ({ ...t, status: 'failed', error: err, activity: '' }));
      // Whatever the tools finished before the failure is in the session.
      refresh();
    } finally {
      if (abort.current === controller) abort.current = undefined;
      setRunning(false);
    }
  };

  if (loadError && !detail) {
    return (
      <Stack maw={900}>
        <Title order={1}>Conversation</Title>
        <ErrorNotice error={loadError} onRetry={() => load()} />
        <Anchor component={Link} to="/agent">
          All conversations
        </Anchor>
      </Stack>
    );
  }
  if (!detail) {
    return (
      <Center mt="xl">
        <Loader aria-label="Loading the conversation" />
      </Center>
    );
  }

  const title = detail.session.title || 'New conversation';
  const tooLong = draft.length > MESSAGE_MAX;
  const empty = detail.messages.length === 0 && turns.length === 0;
  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-start" wrap="wrap" gap="xs">
        <Box style={{ minWidth: 0, flex: '1 1 320px' }}>
          <Anchor component={Link} to="/agent" size="sm">
            ← All conversations
          </Anchor>
          <Title order={1} size="h2" style={{ overflowWrap: 'anywhere' }}>
            {title}
          </Title>
          <Text size="xs" c="gray.7">
            Started {formatWhen(detail.session.created_at)} · {detail.session.message_count} {detail.session.message_count === 1 ? 'message' : 'messages'} kept
          </Text>
        </Box>
        <Button variant="light" color="red" size="xs" onClick={() => setDeleting(true)} disabled={running}>
          Delete
        </Button>
      </Group>
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 8 }}>
          <Stack gap="md" component="section" aria-labelledby="transcript-heading">
            <Title order={2} size="h4" id="transcript-heading">
              Conversation
            </Title>
            {empty ? (
              <Paper withBorder p="md" radius="md">
                <Text size="sm">Ask the agent for a story. For example:</Text>
                <Stack gap={4} mt="xs" align="flex-start">
                  {EXAMPLES.map((x) => (
                    <Button key={x} variant="subtle" size="compact-sm" onClick={() => setDraft(x)} style={{ whiteSpace: 'normal', height: 'auto', textAlign: 'left' }}>
                      {x}
                    </Button>
                  ))}
                </Stack>
              </Paper>
            ) : null}
            <HistoryView messages={detail.messages} />
            {turns.map((t) => (
              <TurnView key={t.id} turn={t} onRetry={() => void send(t.message, t.id)} onMediaLoad={follow} />
            ))}
            <Paper withBorder p="sm" radius="md" component="form" onSubmit={(e) => {
              e.preventDefault();
              void send(draft);
            }}>
              <Textarea
                ref={box}
                label="Message to the story agent"
                description="Ctrl+Enter (⌘+Enter on a Mac) sends."
                placeholder="Make me a 4-panel illustrated story about a brave snail, and narrate it"
                autosize
                minRows={2}
                maxRows={8}
                value={draft}
                onChange={(e) => setDraft(e.currentTarget.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                    e.preventDefault();
                    void send(draft);
                  }
                }}
                error={tooLong ? `At most ${MESSAGE_MAX} characters (${draft.length} now).` : undefined}
              />
              <Group justify="space-between" mt="xs" wrap="wrap" gap="xs">
                <Text size="xs" c="gray.7">
                  {draft.length} / {MESSAGE_MAX}
                </Text>
                <Group gap="xs">
                  <Button variant="default" onClick={() => abort.current?.abort()} disabled={!running}>
                    Stop
                  </Button>
                  <Button type="submit" disabled={running || !draft.trim() || tooLong} loading={running}>
                    Send
                  </Button>
                </Group>
              </Group>
            </Paper>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 4 }}>
          <Stack gap="lg">
            <CurrentStory story={detail.story} jobId={detail.story_job_id} version={storyVersion} />
            <Stack gap="xs" component="section" aria-labelledby="files-heading">
              <Title order={2} size="h4" id="files-heading">
                Files
              </Title>
              {detail.artifacts.length ? <FileLinks files={detail.artifacts.map((a) => ({ path: a.path, size: a.size, contentType: a.content_type, url: a.url }))} /> : <Text size="sm">No files yet.</Text>}
            </Stack>
          </Stack>
        </Grid.Col>
      </Grid>
      <DeleteSession session={deleting ? detail.session : undefined} onClose={() => setDeleting(false)} onDeleted={() => navigate('/agent', { replace: true })} />
    </Stack>
  );
}
