/** One turn of the conversation as it happens: the user's message, then everything the agent does, inline. */
import { Anchor, Badge, Box, Group, Loader, Paper, Progress, SimpleGrid, Stack, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import { ErrorNotice } from '../components/ErrorNotice';
import { Linkified } from './Linkified';
import { formatBytes, streamedText, type FileLink, type NarrationPart, type Picture, type Turn, type TurnItem } from './model';

export function UserMessage({ text }: { text: string }) {
  return (
    <Paper className="agent-user" p="sm" radius="md" bg="indigo.0" withBorder style={{ alignSelf: 'flex-end', maxWidth: '85%' }}>
      <Text size="xs" fw={600} c="indigo.9">
        You
      </Text>
      <Text className="streaming-text" style={{ overflowWrap: 'anywhere' }}>
        {text}
      </Text>
    </Paper>
  );
}

export function AgentText({ text, live }: { text: string; live?: boolean }) {
  return (
    <Paper p="sm" radius="md" withBorder style={{ maxWidth: '100%' }} aria-live={live ? 'polite' : undefined} data-testid={live ? 'agent-answer' : undefined}>
      <Text size="xs" fw={600} c="gray.7">
        Story agent
      </Text>
      <Text className="streaming-text" style={{ overflowWrap: 'anywhere' }}>
        <Linkified text={text} />
      </Text>
    </Paper>
  );
}

export function ToolBadge({ tool }: { tool: string }) {
  return (
    <Badge variant="light" color="indigo" radius="sm" tt="none" style={{ flexShrink: 0 }}>
      {tool}
    </Badge>
  );
}

function StepLine({ children }: { children: ReactNode }) {
  return (
    <Group gap={8} wrap="nowrap" align="flex-start" pl="xs" style={{ borderLeft: '3px solid var(--mantine-color-indigo-2)' }}>
      {children}
    </Group>
  );
}

export function PictureGrid({ pictures, of, onMediaLoad, narrow }: { pictures: Picture[]; of: number; onMediaLoad?: () => void; /** two a row at most (a side column) */ narrow?: boolean }) {
  const waiting = Math.max(0, of - pictures.length);
  return (
    <SimpleGrid cols={narrow ? 2 : { base: 2, sm: 4 }} spacing="xs">
      {pictures.map((p) => (
        <figure key={p.panel} style={{ margin: 0 }}>
          {p.url ? (
            <img className="panel-image" src={p.url} alt={`Panel ${p.panel}`} onLoad={onMediaLoad} />
          ) : (
            <Box className="panel-image" p="xs">
              <Text size="sm">Panel {p.panel} is stored (no link).</Text>
            </Box>
          )}
          <Text component="figcaption" size="xs" c="gray.7" ta="center">
            Panel {p.panel}
          </Text>
        </figure>
      ))}
      {Array.from({ length: waiting }, (_, i) => (
        <Box key={`wait-${i}`} className="panel-image" style={{ display: 'flex', alignItems: 'center', justifyContent: 'center' }}>
          <Text size="xs" c="gray.7">
            Drawing…
          </Text>
        </Box>
      ))}
    </SimpleGrid>
  );
}

export function NarrationList({ parts }: { parts: NarrationPart[] }) {
  return (
    <Stack gap={6}>
      {parts.map((p) => {
        const label = p.section === null ? 'Whole story' : `Section ${p.section}`;
        return (
          <Group key={p.section ?? 'all'} gap="xs" wrap="wrap" align="center">
            <Text size="sm" fw={500} miw={120} style={{ whiteSpace: 'nowrap' }}>
              {label}
              {p.seconds ? (
                <Text span size="xs" c="gray.7">
                  {' '}
                  ({Math.round(p.seconds)} s)
                </Text>
              ) : null}
            </Text>
            {p.url ? <audio controls preload="none" src={p.url} aria-label={label} style={{ maxWidth: '100%', flex: '1 1 220px', height: 36 }} /> : <Text size="sm">stored (no link)</Text>}
          </Group>
        );
      })}
    </Stack>
  );
}

export function FileLinks({ files }: { files: FileLink[] }) {
  return (
    <Stack gap={2} component="ul" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
      {files.map((f) => (
        <li key={f.path}>
          {f.url ? (
            <Anchor href={f.url} target="_blank" rel="noopener noreferrer" size="sm" style={{ overflowWrap: 'anywhere' }}>
              {f.path}
            </Anchor>
          ) : (
            <Text span size="sm">
              {f.path}
            </Text>
          )}{' '}
          <Text span size="xs" c="gray.7">
            ({formatBytes(f.size)})
          </Text>
        </li>
      ))}
    </Stack>
  );
}

function Item({ item, live, onMediaLoad }: { item: TurnItem; live: boolean; onMediaLoad: () => void }) {
  switch (item.kind) {
    case 'text':
      return <AgentText text={item.text} live={live} />;
    case 'call':
      return (
        <StepLine>
          <Text size="sm" fw={500} style={{ flexShrink: 0 }}>
            Tool
          </Text>
          <ToolBadge tool={item.tool} />
          {item.summary ? (
            <Text size="sm" c="gray.7" lineClamp={2} style={{ overflowWrap: 'anywhere' }}>
              {item.summary}
            </Text>
          ) : null}
        </StepLine>
      );
    case 'progress':
      return (
        <StepLine>
          <Box style={{ flex: 1, minWidth: 0 }}>
            <Text size="sm">
              <Text span c="gray.7" size="sm">
                {item.tool}:
              </Text>{' '}
              {item.stage === 'section written' && item.section !== null ? `section ${item.section} written` : item.stage}
              {item.detail ? ` — ${item.detail}` : ''}
            </Text>
            {item.text ? (
              <Text size="xs" c="gray.7" lineClamp={2}>
                {item.text}
              </Text>
            ) : null}
            {item.done !== null && item.of !== null && item.of > 0 ? <Progress mt={4} value={(100 * item.done) / item.of} aria-label={`${item.tool}: ${item.done} of ${item.of}`} size="sm" /> : null}
          </Box>
        </StepLine>
      );
    case 'result':
      return (
        <StepLine>
          <Badge variant="light" color={item.status === 'success' ? 'green' : 'red'} radius="sm" tt="none" style={{ flexShrink: 0 }}>
            {item.status === 'success' ? 'done' : item.status}
          </Badge>
          <Text size="sm" style={{ overflowWrap: 'anywhere' }}>
            <Text span c="gray.7" size="sm">
              {item.tool}
            </Text>
            {item.summary ? `: ${item.summary}` : ''}
          </Text>
        </StepLine>
      );
    case 'sources':
      return (
        <Paper p="sm" radius="md" withBorder aria-label={`Sources for ${item.query}`} component="section">
          <Text size="sm" fw={600}>
            Research: “{item.query}”
          </Text>
          {item.engine ? (
            <Text size="xs" c="gray.7">
              via {item.engine}
            </Text>
          ) : null}
          {item.ok ? (
            item.results.length ? (
              <Stack gap={2} component="ol" mt={6} pl="lg" style={{ margin: 0 }}>
                {item.results.map((r) => (
                  <li key={r.url}>
                    <Anchor href={r.url} target="_blank" rel="noopener noreferrer" size="sm" style={{ overflowWrap: 'anywhere' }}>
                      {r.title}
                    </Anchor>
                  </li>
                ))}
              </Stack>
            ) : (
              <Text size="sm">No results.</Text>
            )
          ) : (
            <Text size="sm" c="orange.9">
              search unavailable: {item.reason ?? 'no reason given'}
            </Text>
          )}
        </Paper>
      );
    case 'pictures':
      return (
        <Paper p="sm" radius="md" withBorder component="section" aria-label="Pictures">
          <Text size="sm" fw={600}>
            Pictures {item.pictures.length} of {item.of}
          </Text>
          <Progress my={6} value={item.of ? (100 * item.pictures.length) / item.of : 0} aria-label={`Pictures: ${item.pictures.length} of ${item.of}`} size="sm" />
          <PictureGrid pictures={item.pictures} of={item.of} onMediaLoad={onMediaLoad} />
        </Paper>
      );
    case 'narration':
      return (
        <Paper p="sm" radius="md" withBorder component="section" aria-label="Narration">
          <Text size="sm" fw={600}>
            Narration: {item.done} of {item.of} sections
          </Text>
          <Progress my={6} value={item.of ? (100 * item.done) / item.of : 0} aria-label={`Narration: ${item.done} of ${item.of} sections`} size="sm" />
          <NarrationList parts={item.parts} />
        </Paper>
      );
    case 'files':
      return (
        <StepLine>
          <Box>
            <Text size="sm" fw={500}>
              Files saved
            </Text>
            <FileLinks files={item.files} />
          </Box>
        </StepLine>
      );
  }
}

export function TurnView({ turn, onRetry, onMediaLoad }: { turn: Turn; onRetry: () => void; onMediaLoad: () => void }) {
  const live = turn.status === 'running';
  const result = turn.result;
  const hasText = streamedText(turn.items).trim().length > 0;
  return (
    <Stack gap="xs" component="article" aria-label={`Your message: ${turn.message.slice(0, 60)}`}>
      <UserMessage text={turn.message} />
      {turn.items.map((item, i) => (
        <Item key={i} item={item} live={live || turn.status === 'done'} onMediaLoad={onMediaLoad} />
      ))}
      {live ? (
        <Group gap="xs" role="status" aria-live="polite">
          <Loader size="xs" aria-hidden="true" />
          <Text size="sm" c="gray.7">
            {turn.activity}
          </Text>
        </Group>
      ) : null}
      {result ? (
        <>
          {!hasText && result.text ? <AgentText text={result.text} live /> : null}
          {result.failures?.length ? (
            <Paper p="sm" radius="md" withBorder bg="yellow.0" role="status">
              <Text size="sm" fw={600}>
                Some work did not finish
              </Text>
              <Stack gap={2} component="ul" pl="lg" style={{ margin: 0 }}>
                {result.failures.map((f) => (
                  <Text component="li" size="sm" key={f}>
                    {f}
                  </Text>
                ))}
              </Stack>
            </Paper>
          ) : null}
          {result.story ? (
            <Text size="sm" data-testid="turn-story">
              <Text span fw={600} size="sm">
                Current story:
              </Text>{' '}
              {result.story}
            </Text>
          ) : null}
          <Text size="xs" c="gray.7">
            {result.model} · {result.stop_reason}
            {result.dropped_messages > 0 ? ` · ${result.dropped_messages} older messages left the conversation window` : ''}
          </Text>
        </>
      ) : null}
      {turn.status === 'failed' ? <ErrorNotice error={turn.error} onRetry={onRetry} /> : null}
    </Stack>
  );
}
