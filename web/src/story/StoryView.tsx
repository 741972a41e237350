/**
 * A story as the studio shows it, with its edits in place: each panel's picture and words
 * (visual) or each section's words and player (audio), the whole story's player, and for every
 * segment "Rewrite", for every panel "Redraw", for every section "Narrate again". A panel is a
 * section (one picture per section).
 */
import { Badge, Button, Card, Group, Image, Paper, Skeleton, SimpleGrid, Stack, Text, Textarea, Title } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { streamCall, unwrap, type Result } from '../api/client';
import { LIMITS } from '../api/limits';
import { ErrorNotice } from '../components/ErrorNotice';
import { useAction } from '../components/useAction';
import { useStudio } from '../studio';
import { allSegments, panelsOf, sectionOf, withSegment, type Narration, type Segment, type StoryDoc, type StorySection } from './model';

export interface StoryViewProps {
  doc: StoryDoc;
  /** The story after an edit (a rewritten segment, a redrawn panel, a new narration). */
  onChange: (doc: StoryDoc) => void;
  /** Pictures or narration still on their way (their places show a placeholder). */
  pending?: { images?: boolean; narration?: boolean };
}

type NarrationSection = Narration['sections'][number];

/** An inline "what should change?" form under a segment or a panel. */
function ChangeRequest({ label, action, maxLength, onSubmit }: { label: string; action: string; maxLength: number; onSubmit: (request: string) => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState('');
  const { busy, error, run } = useAction();
  const submit = async () => {
    if (!(await run(() => onSubmit(text.trim())))) return;
    setOpen(false);
    setText('');
  };
  if (!open)
    return (
      <Group>
        <Button size="xs" variant="light" onClick={() => setOpen(true)}>
          {action}
        </Button>
      </Group>
    );
  return (
    <Stack gap="xs" w="100%">
      <Textarea label={label} value={text} onChange={(e) => setText(e.currentTarget.value)} maxLength={maxLength} autosize minRows={2} data-autofocus autoFocus />
      <Group gap="xs">
        <Button size="xs" onClick={() => void submit()} loading={busy} disabled={text.trim().length === 0}>
          {action}
        </Button>
        <Button size="xs" variant="default" onClick={() => setOpen(false)} disabled={busy}>
          Cancel
        </Button>
      </Group>
      {error ? <ErrorNotice error={error} onRetry={() => void submit()} /> : null}
    </Stack>
  );
}

function SegmentText({ segment }: { segment: Segment }) {
  return (
    <Text size="sm" className="streaming-text">
      {segment.speaker && segment.speaker !== 'Narrator' ? <strong>{segment.speaker}: </strong> : null}
      {segment.segment_content}
    </Text>
  );
}

export function AudioPlayer({ label, url, duration }: { label: string; url: string; duration?: number }) {
  return (
    <Stack gap={2}>
      <Text size="xs" c="dimmed" component="span">
        {label}
        {duration !== undefined ? ` · ${Math.round(duration)} s` : ''}
      </Text>
      <audio controls preload="metadata" src={url} aria-label={label} style={{ width: '100%' }} />
    </Stack>
  );
}

export function StoryView({ doc, onChange, pending }: StoryViewProps) {
  const { clients } = useStudio();
  const [narrating, setNarrating] = useState<string>();
  const [narrationError, setNarrationError] = useState<unknown>();
  const [stale, setStale] = useState<ReadonlySet<number>>(new Set());
  const visual = doc.request.story_type === 'visual';
  const segments = allSegments(doc.parts);

  const rewrite = async (segment: Segment, userRequest: string) => {
    const r = doc.request;
    const result = await unwrap(
      clients.api.POST('/regenerate-segment', {
        body: {
          genre: r.genre,
          reading_level: r.reading_level,
          tone: r.tone,
          story_type: r.story_type,
          number_of_speakers: r.number_of_speakers,
          ...(r.panels !== undefined ? { panels: r.panels } : {}),
          ...(r.audio_length !== undefined ? { audio_length: r.audio_length } : {}),
          job_id: doc.jobId,
          user_request: userRequest,
          original_story_segments: segments,
          original_story_segment_num: segment.segment_num,
          original_story_segment: segment,
        },
      }),
    );
    const next = result.result.new_story_segment;
    const section = sectionOf(doc.parts, segment.segment_num);
    if (section !== undefined && doc.narration) setStale((s) => new Set([...s, section]));
    onChange({ ...doc, parts: withSegment(doc.parts, { ...next, segment_num: segment.segment_num }) });
  };

  const redraw = async (panel: number, userRequest: string) => {
    const image = doc.images[panel];
    if (!image) return;
    const result = await unwrap(
      clients.api.POST('/regenerate-segment-image', {
        body: { job_id: doc.jobId, user_request: userRequest, original_segment_image_s3_uri: image.s3Uri, ...(doc.artStyle ? { art_style: doc.artStyle } : {}) },
      }),
    );
    onChange({ ...doc, images: { ...doc.images, [panel]: { s3Uri: result.result.new_story_segment_image_s3_uri, url: result.result.new_story_segment_image_presigned_url } } });
  };

  const narrate = async (sections?: number[]) => {
    setNarrating(sections ? `Narrating section ${sections.join(', ')}…` : 'Narrating the story…');
    setNarrationError(undefined);
    try {
      const result = await streamCall<{ result: Result<'/narrate-story', 'post'> }>(
        (init) => clients.api.POST('/narrate-story', { body: { job_id: doc.jobId, story_parts: doc.parts, ...(sections ? { sections } : {}), ...(doc.narration ? { voices: doc.narration.voices } : {}) }, ...init }),
        (e) => {
          if (e.event === 'section') setNarrating(`Narrated ${e.data.done} of ${e.data.of} sections…`);
        },
      );
      setStale((s) => new Set([...s].filter((n) => sections && !sections.includes(n))));
      onChange({ ...doc, narration: result.result });
    } catch (err) {
      setNarrationError(err);
    } finally {
      setNarrating(undefined);
    }
  };

  const sectionAudio = (n: number): NarrationSection | undefined => doc.narration?.sections.find((s) => s.section_num === n);

  /** One section: its picture (visual: the panel), its segments with "Rewrite", its narration. */
  const section = (s: StorySection, panel: number): ReactNode => {
    const audio = sectionAudio(s.section_num);
    const image = visual ? doc.images[panel] : undefined;
    const name = visual ? `Panel ${panel}` : `Section ${s.section_num}`;
    const words = s.segments.map((g) => g.segment_content).join(' ');
    return (
      <Card key={s.section_num} withBorder padding="sm" component="article" aria-label={name}>
        {visual ? (
          <Card.Section>
            {image ? (
              <Image src={image.url} alt={`${name}: ${words.slice(0, 120)}`} className="panel-image" data-s3-uri={image.s3Uri} />
            ) : pending?.images ? (
              <Skeleton className="panel-image" aria-label={`${name} is being drawn`} />
            ) : null}
          </Card.Section>
        ) : null}
        <Stack gap="xs" mt={visual ? 'sm' : 0}>
          <Group justify="space-between">
            <Badge variant="light" size="sm">
              {name}
            </Badge>
            {stale.has(s.section_num) ? (
              <Badge color="orange" variant="light" size="sm">
                Words changed since narrated
              </Badge>
            ) : null}
          </Group>
          {image ? (
            <ChangeRequest label={`What should change in the picture of panel ${panel}?`} action={`Redraw panel ${panel}`} maxLength={LIMITS.regenerate_segment_image.user_request.maxLength} onSubmit={(req) => redraw(panel, req)} />
          ) : null}
          {s.segments.map((g) => (
            <Stack key={g.segment_num} gap={4}>
              <SegmentText segment={g} />
              <ChangeRequest label={`What should change in segment ${g.segment_num}?`} action="Rewrite" maxLength={LIMITS.regenerate_story_segment.user_request.maxLength} onSubmit={(req) => rewrite(g, req)} />
            </Stack>
          ))}
          {audio ? (
            <AudioPlayer label={`Section ${s.section_num}`} url={audio.audio_presigned_url} duration={audio.duration_seconds} />
          ) : pending?.narration ? (
            <Skeleton h={40} aria-label={`Section ${s.section_num} is being narrated`} />
          ) : null}
          {doc.narration ? (
            <Group>
              <Button size="xs" variant="light" onClick={() => void narrate([s.section_num])} disabled={narrating !== undefined}>
                Narrate section {s.section_num} again
              </Button>
            </Group>
          ) : null}
        </Stack>
      </Card>
    );
  };

  const panels = panelsOf(doc.parts);
  const panelOf = (s: StorySection) => panels.find((p) => p.section === s)?.panel ?? s.section_num;

  return (
    <Stack gap="lg">
      <Paper withBorder p="sm">
        <Stack gap="xs">
          <Title order={2} size="h4">
            Narration
          </Title>
          {doc.narration ? (
            <>
              <AudioPlayer label="The whole story" url={doc.narration.story.audio_presigned_url} duration={doc.narration.story.duration_seconds} />
              <Text size="xs" c="dimmed">
                Voices: {Object.entries(doc.narration.voices).map(([who, voice]) => `${who} — ${voice}`).join(', ')} · {doc.narration.metadata.provider}
              </Text>
            </>
          ) : pending?.narration ? (
            <Text size="sm">Being narrated…</Text>
          ) : (
            <Text size="sm">Not narrated yet.</Text>
          )}
          <Group>
            <Button size="xs" variant={doc.narration ? 'default' : 'filled'} onClick={() => void narrate()} loading={narrating !== undefined} disabled={pending?.narration}>
              {doc.narration ? 'Narrate the whole story again' : 'Narrate this story'}
            </Button>
          </Group>
          {narrating ? (
            <Text size="sm" role="status">
              {narrating}
            </Text>
          ) : null}
          {narrationError ? <ErrorNotice error={narrationError} onRetry={() => void narrate()} onDismiss={() => setNarrationError(undefined)} /> : null}
        </Stack>
      </Paper>
      {doc.parts.map((part) => (
        <Stack key={part.story_part} gap="sm" component="section" aria-label={part.story_part}>
          <Title order={2} size="h3">
            {part.story_part}
          </Title>
          {visual ? (
            <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>{part.sections.map((s) => section(s, panelOf(s)))}</SimpleGrid>
          ) : (
            <Stack gap="sm">{part.sections.map((s) => section(s, panelOf(s)))}</Stack>
          )}
        </Stack>
      ))}
    </Stack>
  );
}
