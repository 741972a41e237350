/** "Try it": a message to the project chat, the answer streamed as it is written; follow-ups keep the session. */
import { Badge, Box, Button, Code, Group, Paper, Stack, Text, Textarea, Title } from '@mantine/core';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, streamCall, unwrap } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { useStudio } from '../studio';
import type { ChatAnswer, ChatRequest, ChatResult } from './types';

interface Exchange {
  input: string;
  answer: string;
  result?: ChatResult;
}

export function ProjectChat({ projectId }: { projectId: string }) {
  const { clients } = useStudio();
  const [input, setInput] = useState('');
  const [sessionId, setSessionId] = useState<string>();
  const [exchanges, setExchanges] = useState<Exchange[]>([]);
  const [streaming, setStreaming] = useState('');
  const [pending, setPending] = useState<string>();
  const [stage, setStage] = useState('');
  const [error, setError] = useState<unknown>();
  const [lastInput, setLastInput] = useState('');
  const abortRef = useRef<AbortController | undefined>(undefined);

  const [history, setHistory] = useState<{ loading: boolean; error?: unknown; cursor?: string | null }>({ loading: false });
  const storageKey = `story42.admin.chat.${projectId}`;

  useEffect(() => () => abortRef.current?.abort(), []);

  /** The kept session's earlier exchanges (oldest first), a page at a time. */
  const loadHistory = async (session: string, cursor?: string) => {
    setHistory({ loading: true });
    try {
      const page = (
        await unwrap(
          clients.api.GET('/projects/{project_id}/chat/{session_id}', {
            params: { path: { project_id: projectId, session_id: session }, query: cursor ? { limit: '20', cursor } : { limit: '20' } },
          }),
        )
      ).result;
      const older: Exchange[] = page.messages.map((m) => ({ input: m.user_input, answer: m.answer }));
      setExchanges((xs) => (cursor ? [...xs, ...older] : older));
      setHistory({ loading: false, cursor: page.next_cursor });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        sessionStorage.removeItem(storageKey);
        setSessionId(undefined);
        setHistory({ loading: false });
      } else setHistory({ loading: false, error: err });
    }
  };

  useEffect(() => {
    const kept = sessionStorage.getItem(storageKey);
    if (kept && /^[A-Za-z0-9-]{1,100}$/.test(kept)) {
      setSessionId(kept);
      void loadHistory(kept);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [storageKey]);

  const send = async (message: string) => {
    const text = message.trim();
    if (!text) return;
    const ctl = new AbortController();
    abortRef.current = ctl;
    setError(undefined);
    setPending(text);
    setLastInput(text);
    setStreaming('');
    setStage('Sending…');
    setInput('');
    const body: ChatRequest = sessionId ? { input: text, session_id: sessionId } : { input: text };
    try {
      const answer = await streamCall<ChatAnswer>(
        (init) => clients.api.POST('/projects/{project_id}/chat', { params: { path: { project_id: projectId } }, body, ...init }),
        (e) => {
          if (e.event === 'delta') {
            setStage('Writing the answer…');
            setStreaming((s) => s + e.data.text);
          } else if (e.event === 'progress') {
            if (e.data.stage === 'restarted') setStreaming('');
            setStage(e.data.detail ? `${e.data.stage}: ${e.data.detail}` : `${e.data.stage}…`);
          }
        },
        ctl.signal,
      );
      const result = answer.result;
      setSessionId(result.session_id);
      sessionStorage.setItem(storageKey, result.session_id);
      setExchanges((xs) => [...xs, { input: text, answer: result.answer, result }]);
      setStage('The answer is complete.');
    } catch (err) {
      setError(err);
      setInput((cur) => cur || text);
      setStage('');
    } finally {
      setPending(undefined);
      setStreaming('');
      abortRef.current = undefined;
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void send(input);
  };

  const newConversation = () => {
    abortRef.current?.abort();
    setSessionId(undefined);
    sessionStorage.removeItem(storageKey);
    setExchanges([]);
    setHistory({ loading: false });
    setError(undefined);
    setStage('');
  };

  const busy = pending !== undefined;
  return (
    <Paper withBorder p="sm" component="section" aria-labelledby="project-chat-title">
      <Stack gap="sm">
        <Group justify="space-between" gap="xs">
          <Title order={3} size="h4" id="project-chat-title">
            Try it
          </Title>
          {sessionId ? (
            <Button size="xs" variant="default" onClick={newConversation}>
              New conversation
            </Button>
          ) : null}
        </Group>
        <Text size="sm" c="gray.7">
          The model is shown the active cards in step order, then this conversation.
          {sessionId ? (
            <>
              {' '}
              Session <Code>{sessionId}</Code>
            </>
          ) : null}
        </Text>

        {history.loading ? (
          <Text size="sm" role="status">
            Loading this session's earlier exchanges…
          </Text>
        ) : null}
        {history.error !== undefined && sessionId ? <ErrorNotice error={history.error} onRetry={() => void loadHistory(sessionId)} /> : null}
        <Stack gap="sm" aria-label="Conversation" role="log">
          {exchanges.map((x, i) => (
            <Stack key={i} gap={4}>
              <Box p="xs" bg="gray.1" style={{ borderRadius: 6 }}>
                <Text size="xs" fw={700}>
                  You
                </Text>
                <Text size="sm" className="streaming-text">
                  {x.input}
                </Text>
              </Box>
              <Box p="xs" style={{ borderRadius: 6, border: '1px solid var(--mantine-color-gray-3)' }} data-testid="chat-answer">
                <Text size="xs" fw={700}>
                  Answer
                </Text>
                <Text size="sm" className="streaming-text">
                  {x.answer}
                </Text>
                {x.result ? (
                  <Group gap={6} mt={6}>
                    <Badge size="xs" variant="outline" color="gray.8" tt="none">
                      {x.result.engine}
                    </Badge>
                    <Text size="xs" c="gray.7">
                      {x.result.cards_used.length} {x.result.cards_used.length === 1 ? 'card' : 'cards'} used{x.result.cards_used.length ? `: ${x.result.cards_used.map((c) => c.title).join(', ')}` : ''} · {(x.result.processing_ms / 1000).toFixed(1)} s
                    </Text>
                  </Group>
                ) : null}
              </Box>
            </Stack>
          ))}
        </Stack>
        {history.cursor && sessionId ? (
          <Button size="xs" variant="default" style={{ alignSelf: 'flex-start' }} onClick={() => void loadHistory(sessionId, history.cursor ?? undefined)}>
            Load more of this session
          </Button>
        ) : null}
        {pending !== undefined ? (
            <Stack gap={4}>
              <Box p="xs" bg="gray.1" style={{ borderRadius: 6 }}>
                <Text size="xs" fw={700}>
                  You
                </Text>
                <Text size="sm" className="streaming-text">
                  {pending}
                </Text>
              </Box>
              <Box p="xs" style={{ borderRadius: 6, border: '1px dashed var(--mantine-color-gray-5)' }} data-testid="chat-streaming" aria-busy="true">
                <Text size="xs" fw={700}>
                  Answer (being written)
                </Text>
                <Text size="sm" className="streaming-text">
                  {streaming || '…'}
                </Text>
              </Box>
            </Stack>
          ) : null}

        <Text size="sm" role="status" aria-live="polite" c="gray.7">
          {stage}
        </Text>
        {error !== undefined ? <ErrorNotice error={error} onRetry={() => void send(lastInput)} onDismiss={() => setError(undefined)} /> : null}

        <form onSubmit={submit}>
          <Stack gap="xs">
            <Textarea
              label="Message"
              value={input}
              onChange={(e) => setInput(e.currentTarget.value)}
              autosize
              minRows={2}
              maxRows={8}
              maxLength={8000}
              disabled={busy}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                  e.preventDefault();
                  void send(input);
                }
              }}
            />
            <Group gap="xs">
              <Button type="submit" loading={busy} disabled={input.trim() === ''}>
                Send
              </Button>
              {busy ? (
                <Button variant="default" onClick={() => abortRef.current?.abort()}>
                  Stop
                </Button>
              ) : null}
            </Group>
          </Stack>
        </form>
      </Stack>
    </Paper>
  );
}
