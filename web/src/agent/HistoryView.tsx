/** The session's past messages: each user message, then what the agent said and which tools it used. */
import { Group, Stack, Text } from '@mantine/core';
import { AgentText, ToolBadge, UserMessage } from './TurnView';
import type { HistoryMessage } from './model';

interface Exchange {
  user?: string;
  tools: string[];
  texts: string[];
}

function exchanges(messages: readonly HistoryMessage[]): Exchange[] {
  const out: Exchange[] = [];
  for (const m of messages) {
    if (m.role === 'user') {
      // A user message carrying only tool results has no text; it belongs to the agent's work.
      if (m.text.trim()) {
        out.push({ user: m.text, tools: [], texts: [] });
        continue;
      }
    }
    let current = out.at(-1);
    if (!current) {
      current = { tools: [], texts: [] };
      out.push(current);
    }
    current.tools.push(...m.tools);
    if (m.role === 'assistant' && m.text.trim()) current.texts.push(m.text);
  }
  return out;
}

export function HistoryView({ messages }: { messages: readonly HistoryMessage[] }) {
  const list = exchanges(messages);
  return (
    <>
      {list.map((x, i) => (
        <Stack key={i} gap="xs" component="article" aria-label={x.user ? `Your message: ${x.user.slice(0, 60)}` : 'Earlier work'}>
          {x.user ? <UserMessage text={x.user} /> : null}
          {x.tools.length ? (
            <Group gap={6} pl="xs" style={{ borderLeft: '3px solid var(--mantine-color-indigo-2)' }}>
              <Text size="sm" fw={500}>
                Tools used
              </Text>
              {x.tools.map((t, j) => (
                <ToolBadge key={j} tool={t} />
              ))}
            </Group>
          ) : null}
          {x.texts.map((t, j) => (
            <AgentText key={j} text={t} />
          ))}
        </Stack>
      ))}
    </>
  );
}
