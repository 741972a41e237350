/** What a job shows before its story is written: its outline, or its topic ideas. */
import { Box, Paper, Stack, Text, Title } from '@mantine/core';
import type { OutlineView, TopicsView } from './job';

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function OutlineSection({ outline }: { outline: OutlineView }) {
  const r = outline.request;
  const length = r.story_type === 'visual' ? (r.panels ? `${r.panels} panels` : 'illustrated') : r.audio_length ? `${r.audio_length} min of audio` : 'audio';
  return (
    <Paper withBorder radius="md" p="md" component="section" aria-labelledby="outline-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="outline-title">
          Outline
        </Title>
        <Text size="sm" c="gray.7">
          {r.genre} · {r.reading_level} · {r.tone} · {length} · {r.number_of_speakers} {r.number_of_speakers === 1 ? 'speaker' : 'speakers'}. The story itself has not been written yet.
        </Text>
        {outline.parts.map((p, i) => (
          <Stack gap={4} key={`${p.story_part}-${i}`}>
            <Title order={3} size="h4">
              {capital(p.story_part)}
            </Title>
            <Text>{p.story_part_summary}</Text>
            {p.story_part_speakers && p.story_part_speakers.length > 0 ? (
              <Text size="sm" c="gray.7">
                Speakers: {p.story_part_speakers.join(', ')}
              </Text>
            ) : null}
          </Stack>
        ))}
        {outline.speakerNames.length > 0 ? <Text size="sm">Cast: {outline.speakerNames.join(', ')}</Text> : null}
      </Stack>
    </Paper>
  );
}

const TOPIC_FIELDS = [
  ['subject_category', 'Subject'],
  ['scope_coverage', 'Scope'],
  ['structure', 'Structure'],
  ['source_types', 'Sources'],
  ['target_audience', 'Audience'],
  ['tone', 'Tone'],
] as const;

export function TopicsSection({ topics }: { topics: TopicsView }) {
  return (
    <Paper withBorder radius="md" p="md" component="section" aria-labelledby="topics-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="topics-title">
          Topic ideas
        </Title>
        <Text size="sm" c="gray.7">
          {capital(topics.request.genre)} · topics: {topics.request.topics}
        </Text>
        <Box component="dl" m={0}>
          {TOPIC_FIELDS.map(([key, label]) => (
            <div key={key}>
              <Text component="dt" fw={600} size="sm">
                {label}
              </Text>
              <Text component="dd" ml={0} mb="xs">
                {topics.result[key]}
              </Text>
            </div>
          ))}
        </Box>
      </Stack>
    </Paper>
  );
}
