/**
 * New story: the request (genre, reading level, tone, idea; panels and art style, or length and
 * speakers), topic ideas, the outline to edit, then the story as it is written, its panels as
 * they are drawn or its sections as they are narrated, and the finished story to edit.
 */
import { Autocomplete, Button, Group, NumberInput, Paper, Progress, SegmentedControl, Stack, Stepper, TagsInput, Text, Textarea, TextInput, Title, Input, Anchor, Select } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { streamCall, unwrap, type Result } from '../api/client';
import type { StreamEvent } from '../api/events';
import { LIMITS } from '../api/limits';
import { ErrorNotice } from '../components/ErrorNotice';
import { StoryView } from '../story/StoryView';
import { allSegments, panelsOf, type OutlinePart, type StoryDoc, type StoryRequest } from '../story/model';
import { useStudio } from '../studio';

const GENRES = ['fantasy', 'adventure', 'mystery', 'science fiction', 'fairy tale', 'animal story', 'non-fiction', 'history', 'science', 'nature'];
const LEVELS = ['pre-K', 'kindergarten', 'grade 1', 'grade 2', 'grade 3', 'grade 4', 'grade 5', 'grade 6', 'middle school', 'young adult'];
const TONES = ['whimsical', 'funny', 'gentle', 'exciting', 'heartwarming', 'mysterious', 'informative', 'calm'];
const ART_STYLES = ['watercolor', 'comic book', 'pencil sketch', "children's book illustration", 'paper cut-out', 'pixel art'];

const O = LIMITS.generate_story_outline_description;
const nonFiction = (genre: string) => /non-?fiction|history|science|nature|biography/i.test(genre);

type Step = 'request' | 'outline' | 'writing' | 'media' | 'done';
const STEPS: Step[] = ['request', 'outline', 'writing', 'media', 'done'];

interface LiveSegment {
  text: string;
  speaker?: string;
}

/** A fresh job id for one story: every call of this story is tracked under it. */
const newJobId = () => `studio-${crypto.randomUUID()}`;

export function NewStory() {
  const { clients } = useStudio();
  const [jobId, setJobId] = useState(newJobId);
  const [request, setRequest] = useState<StoryRequest>({ genre: 'fantasy', reading_level: 'grade 2', tone: 'whimsical', story_type: 'visual', panels: 4, number_of_speakers: 2, user_input_description: '' });
  const [artStyle, setArtStyle] = useState('watercolor');
  const [topics, setTopics] = useState('');
  const [ideas, setIdeas] = useState<Result<'/generate-topics-ideas', 'post'>>();
  const [outline, setOutline] = useState<OutlinePart[]>();
  const [speakers, setSpeakers] = useState<string[]>([]);
  const [step, setStep] = useState<Step>('request');
  const [busy, setBusy] = useState<string>();
  const [status, setStatus] = useState('');
  const [progress, setProgress] = useState<{ done: number; of: number }>();
  const [live, setLive] = useState<Map<number, LiveSegment>>(new Map());
  const [doc, setDoc] = useState<StoryDoc>();
  const [pending, setPending] = useState<{ images?: boolean; narration?: boolean }>({});
  const [error, setError] = useState<{ err: unknown; retry: () => void }>();
  const abort = useRef<AbortController | undefined>(undefined);
  const [voiceIds, setVoiceIds] = useState<string[]>([]);
  const [voices, setVoices] = useState<Record<string, string>>({});
  useEffect(() => {
    // The speech provider's voices, for choosing one per speaker (automatic casting when none is chosen).
    clients.api
      .GET('/health')
      .then(({ data }) => setVoiceIds(data?.speech_voices ?? []))
      .catch(() => setVoiceIds([]));
  }, [clients]);

  const set = <K extends keyof StoryRequest>(key: K, value: StoryRequest[K]) => setRequest((r) => ({ ...r, [key]: value }));
  const lengthFields = request.story_type === 'visual' ? { panels: request.panels ?? 4 } : { audio_length: request.audio_length ?? 1 };
  const base = { genre: request.genre.trim(), reading_level: request.reading_level.trim(), tone: request.tone.trim(), story_type: request.story_type, number_of_speakers: request.number_of_speakers, ...lengthFields, job_id: jobId };

  /** Runs one step: busy state, errors in words with a retry of the same step. */
  const run = async (label: string, work: () => Promise<void>) => {
    const retry = () => void run(label, work);
    setBusy(label);
    setError(undefined);
    setStatus(label);
    try {
      await work();
    } catch (err) {
      setError({ err, retry });
      setStatus('');
    } finally {
      setBusy(undefined);
      setProgress(undefined);
    }
  };

  const suggest = () =>
    run('Finding topic ideas…', async () => {
      const out = await unwrap(clients.api.POST('/generate-topics-ideas', { body: { genre: nonFiction(request.genre) ? 'non-fiction' : 'fiction', topics: topics.trim(), job_id: jobId } }));
      setIdeas(out.result);
      setStatus('Topic ideas are ready.');
    });

  const writeOutline = () =>
    run('Writing the outline…', async () => {
      const out = await unwrap(clients.api.POST('/generate-story-outline', { body: { ...base, user_input_description: (request.user_input_description ?? '').trim() } }));
      setOutline(out.result.story_parts);
      setSpeakers(out.result.speaker_names);
      setStep('outline');
      setStatus('The outline is ready: change anything you like, then write the story.');
    });

  const onStoryEvent = (e: StreamEvent) => {
    if (e.event === 'progress') setStatus(e.data.detail ? `${e.data.stage}: ${e.data.detail}` : e.data.stage);
    if (e.event === 'delta' && e.data.field === 'segment_content' && e.data.segment > 0) {
      const { segment, text } = e.data;
      setLive((m) => new Map(m).set(segment, { ...m.get(segment), text: (m.get(segment)?.text ?? '') + text }));
    }
    if (e.event === 'section_text') {
      setLive((m) => {
        const next = new Map(m);
        for (const g of e.data.segments) next.set(g.segment_num, { text: g.segment_content, speaker: g.speaker });
        return next;
      });
      setStatus(`Section ${e.data.section} is written.`);
    }
  };

  const illustrate = async (story: StoryDoc, signal: AbortSignal) => {
    const panels = panelsOf(story.parts).length;
    setProgress({ done: 0, of: panels });
    const out = await streamCall<{ result: Result<'/generate-story-image', 'post'> }>(
      (init) => clients.api.POST('/generate-story-image', { body: { job_id: story.jobId, art_style: artStyle.trim(), number_of_panels: request.panels ?? panels, complete_story_parts: story.parts }, ...init }),
      (e) => {
        if (e.event === 'panel') {
          const seg = e.data.story_segment;
          const url = seg.image_presigned_url;
          const s3Uri = seg.image_s3_uri;
          if (typeof url === 'string' && typeof s3Uri === 'string') setDoc((d) => (d ? { ...d, images: { ...d.images, [e.data.story_segment_number]: { url, s3Uri } } } : d));
          setProgress({ done: e.data.panel, of: e.data.of });
          setStatus(`Panel ${e.data.panel} of ${e.data.of} is drawn.`);
        }
      },
      signal,
    );
    const images = Object.fromEntries(out.result.story_segments.map((s) => [s.story_segment_number, { url: s.image_presigned_url, s3Uri: s.image_s3_uri }]));
    setDoc((d) => (d ? { ...d, images } : d));
  };

  const narrate = async (story: StoryDoc, signal: AbortSignal) => {
    // Only the speakers the story really has (the outline's names may have changed on the way).
    const present = new Set(allSegments(story.parts).map((g) => g.speaker));
    const cast = Object.fromEntries(Object.entries(voices).filter(([who]) => present.has(who)));
    const out = await streamCall<{ result: Result<'/narrate-story', 'post'> }>(
      (init) => clients.api.POST('/narrate-story', { body: { job_id: story.jobId, story_parts: story.parts, ...(Object.keys(cast).length ? { voices: cast } : {}) }, ...init }),
      (e) => {
        if (e.event === 'section') {
          setProgress({ done: e.data.done, of: e.data.of });
          setStatus(`Section ${e.data.done} of ${e.data.of} is narrated.`);
        }
      },
      signal,
    );
    setDoc((d) => (d ? { ...d, narration: out.result } : d));
  };

  /** Pictures (visual) or narration (audio) for a written story. */
  const finish = (story: StoryDoc) =>
    run(story.request.story_type === 'visual' ? 'Drawing the panels…' : 'Narrating the story…', async () => {
      const controller = new AbortController();
      abort.current = controller;
      setStep('media');
      setPending(story.request.story_type === 'visual' ? { images: true } : { narration: true });
      try {
        if (story.request.story_type === 'visual') await illustrate(story, controller.signal);
        else await narrate(story, controller.signal);
        setStep('done');
        setStatus(story.request.story_type === 'visual' ? 'Your story is illustrated.' : 'Your story is narrated.');
      } finally {
        setPending({});
        abort.current = undefined;
      }
    });

  const writeStory = () =>
    run('Writing the story…', async () => {
      if (!outline) return;
      const controller = new AbortController();
      abort.current = controller;
      setLive(new Map());
      setDoc(undefined);
      setStep('writing');
      let story: StoryDoc;
      try {
        const out = await streamCall<{ result: Result<'/generate-story', 'post'> }>(
          (init) => clients.api.POST('/generate-story', { body: { ...base, user_input_description: request.user_input_description?.trim() || undefined, story_outline_description: outline }, ...init }),
          onStoryEvent,
          controller.signal,
        );
        story = { jobId, request: { ...request, ...lengthFields }, artStyle: artStyle.trim(), parts: out.result.story_parts, speakerNames: out.result.speaker_names, provider: out.result.metadata.provider, images: {} };
      } finally {
        abort.current = undefined;
      }
      setDoc(story);
      setStatus(`The story is written (${story.provider}).`);
      void finish(story);
    });

  const startOver = () => {
    abort.current?.abort();
    setJobId(newJobId());
    setOutline(undefined);
    setIdeas(undefined);
    setDoc(undefined);
    setLive(new Map());
    setStep('request');
    setStatus('');
    setError(undefined);
    setVoices({});
  };

  const updatePart = (i: number, change: Partial<OutlinePart>) => setOutline((o) => o?.map((p, j) => (j === i ? { ...p, ...change } : p)));
  const liveSegments = [...live.entries()].sort((a, b) => a[0] - b[0]);
  const stepIndex = STEPS.indexOf(step);
  const writing = busy !== undefined;

  return (
    <Stack gap="lg" maw={1100}>
      <Group justify="space-between" align="flex-end">
        <Title order={1}>New story</Title>
        {step !== 'request' ? (
          <Button variant="default" onClick={startOver}>
            Start a new story
          </Button>
        ) : null}
      </Group>
      <Stepper active={stepIndex} size="xs" allowNextStepsSelect={false} aria-label="Progress">
        <Stepper.Step label="Idea" />
        <Stepper.Step label="Outline" />
        <Stepper.Step label="Story" />
        <Stepper.Step label={request.story_type === 'visual' ? 'Pictures' : 'Narration'} />
      </Stepper>
      <Paper withBorder p="sm" role="status" aria-live="polite">
        <Text size="sm">{status || (step === 'request' ? 'Describe your story, then write its outline.' : ' ')}</Text>
        {progress ? <Progress value={(100 * progress.done) / Math.max(1, progress.of)} mt="xs" aria-label={`${progress.done} of ${progress.of}`} /> : null}
        {busy && abort.current ? (
          <Button size="xs" variant="default" mt="xs" onClick={() => abort.current?.abort()}>
            Stop
          </Button>
        ) : null}
      </Paper>
      {error ? <ErrorNotice error={error.err} onRetry={error.retry} onDismiss={() => setError(undefined)} /> : null}

      {step === 'request' ? (
        <Paper withBorder p="md" component="form" onSubmit={(e) => (e.preventDefault(), void writeOutline())} aria-labelledby="request-title">
          <Stack>
            <Title order={2} size="h3" id="request-title">
              Your story
            </Title>
            <Group grow align="flex-start" wrap="wrap">
              <Autocomplete label="Genre" data={GENRES} value={request.genre} onChange={(v) => set('genre', v)} required maxLength={O.genre.maxLength} miw={200} />
              <Autocomplete label="Reading level" data={LEVELS} value={request.reading_level} onChange={(v) => set('reading_level', v)} required maxLength={O.reading_level.maxLength} miw={200} />
              <Autocomplete label="Tone" data={TONES} value={request.tone} onChange={(v) => set('tone', v)} required maxLength={O.tone.maxLength} miw={200} />
            </Group>
            <Paper withBorder p="sm" bg="gray.0">
              <Stack gap="xs">
                <Title order={3} size="h5">
                  Need an idea?
                </Title>
                <Group align="flex-end" wrap="wrap">
                  <TextInput label="Topics" description="A few words, e.g. volcanoes, the moon" value={topics} onChange={(e) => setTopics(e.currentTarget.value)} maxLength={500} style={{ flex: 1 }} miw={220} />
                  <Button variant="light" onClick={() => void suggest()} disabled={!topics.trim() || writing}>
                    Suggest topic ideas
                  </Button>
                </Group>
                {ideas ? (
                  <Stack gap={4} aria-label="Topic ideas">
                    <Text size="sm">
                      <strong>{ideas.subject_category}</strong> for {ideas.target_audience}: {ideas.structure}
                    </Text>
                    <Text size="sm">
                      Tone: {ideas.tone} · Scope: {ideas.scope_coverage} · Sources: {ideas.source_types}
                    </Text>
                    <Group>
                      <Button size="xs" variant="default" onClick={() => set('user_input_description', `${ideas.subject_category} for ${ideas.target_audience}: ${ideas.structure}. Scope: ${ideas.scope_coverage}.`.slice(0, O.user_input_description.maxLength))}>
                        Use this idea
                      </Button>
                    </Group>
                  </Stack>
                ) : null}
              </Stack>
            </Paper>
            <Textarea label="Story idea" description="Who is in it, what happens, what it should teach" value={request.user_input_description ?? ''} onChange={(e) => set('user_input_description', e.currentTarget.value)} required autosize minRows={3} maxLength={O.user_input_description.maxLength} />
            <Input.Wrapper label="Kind of story" id="story-type">
              <SegmentedControl
                aria-labelledby="story-type-label"
                value={request.story_type}
                onChange={(v) => set('story_type', v === 'audio' ? 'audio' : 'visual')}
                data={[
                  { value: 'visual', label: 'Illustrated panels' },
                  { value: 'audio', label: 'Narrated audio' },
                ]}
                fullWidth
              />
            </Input.Wrapper>
            <Group grow align="flex-start" wrap="wrap">
              {request.story_type === 'visual' ? (
                <>
                  <NumberInput label="Panels" value={request.panels ?? 4} onChange={(v) => set('panels', Number(v) || O.panels.minimum)} min={O.panels.minimum} max={O.panels.maximum} clampBehavior="strict" allowDecimal={false} miw={140} />
                  <Autocomplete label="Art style" data={ART_STYLES} value={artStyle} onChange={setArtStyle} required maxLength={LIMITS.generate_entire_story_image.art_style.maxLength} miw={200} />
                </>
              ) : (
                <NumberInput label="Length (minutes)" value={request.audio_length ?? 1} onChange={(v) => set('audio_length', Number(v) || O.audio_length.minimum)} min={O.audio_length.minimum} max={O.audio_length.maximum} clampBehavior="strict" allowDecimal={false} miw={140} />
              )}
              <NumberInput label="Speakers" value={request.number_of_speakers} onChange={(v) => set('number_of_speakers', Number(v) || O.number_of_speakers.minimum)} min={O.number_of_speakers.minimum} max={O.number_of_speakers.maximum} clampBehavior="strict" allowDecimal={false} miw={140} />
            </Group>
            <Group>
              <Button type="submit" loading={busy === 'Writing the outline…'} disabled={writing}>
                Write the outline
              </Button>
            </Group>
          </Stack>
        </Paper>
      ) : null}

      {step === 'outline' && outline ? (
        <Paper withBorder p="md" aria-labelledby="outline-title">
          <Stack>
            <Title order={2} size="h3" id="outline-title">
              Outline
            </Title>
            {speakers.length ? <Text size="sm">Speakers: {speakers.join(', ')}</Text> : null}
            {request.story_type === 'audio' && voiceIds.length ? (
              <Group grow wrap="wrap" align="flex-start" aria-label="Voices">
                {['Narrator', ...speakers.filter((s) => s !== 'Narrator')].map((who) => (
                  <Select
                    key={who}
                    label={`Voice of ${who}`}
                    data={[{ value: '', label: 'Automatic' }, ...voiceIds.map((v) => ({ value: v, label: v }))]}
                    value={voices[who] ?? ''}
                    onChange={(v) => setVoices((all) => (v ? { ...all, [who]: v } : Object.fromEntries(Object.entries(all).filter(([k]) => k !== who))))}
                    allowDeselect={false}
                    miw={180}
                  />
                ))}
              </Group>
            ) : null}
            {outline.map((part, i) => (
              <Paper key={i} withBorder p="sm">
                <Stack gap="xs">
                  <TextInput label={`Part ${i + 1} title`} value={part.story_part} onChange={(e) => updatePart(i, { story_part: e.currentTarget.value })} maxLength={200} />
                  <Textarea label={`Part ${i + 1} summary`} value={part.story_part_summary} onChange={(e) => updatePart(i, { story_part_summary: e.currentTarget.value })} autosize minRows={2} maxLength={5000} />
                  <TagsInput label={`Part ${i + 1} speakers`} value={part.story_part_speakers ?? []} onChange={(v) => updatePart(i, { story_part_speakers: v })} maxTags={O.number_of_speakers.maximum + 1} />
                </Stack>
              </Paper>
            ))}
            <Group>
              <Button onClick={() => void writeStory()} disabled={writing}>
                Write the story
              </Button>
              <Button variant="default" onClick={() => setStep('request')} disabled={writing}>
                Back
              </Button>
            </Group>
          </Stack>
        </Paper>
      ) : null}

      {step === 'writing' && !doc ? (
        <Paper withBorder p="md" aria-labelledby="writing-title">
          <Stack gap="xs">
            <Title order={2} size="h3" id="writing-title">
              Being written
            </Title>
            {liveSegments.length === 0 ? <Text size="sm">The first words are on their way…</Text> : null}
            <div aria-live="polite">
              {liveSegments.map(([n, s]) => (
                <Text key={n} size="sm" className="streaming-text" mb="xs" data-segment={n}>
                  {s.speaker && s.speaker !== 'Narrator' ? <strong>{s.speaker}: </strong> : null}
                  {s.text}
                </Text>
              ))}
            </div>
          </Stack>
        </Paper>
      ) : null}

      {doc ? (
        <Stack gap="sm">
          <Group justify="space-between">
            <Title order={2} size="h3">
              Your story
            </Title>
            <Anchor component={Link} to={`/library/${encodeURIComponent(doc.jobId)}`}>
              Open in the library
            </Anchor>
          </Group>
          <Text size="xs" c="dimmed">
            Job {doc.jobId} · written by {doc.provider}
          </Text>
          <StoryView doc={doc} onChange={setDoc} pending={pending} />
        </Stack>
      ) : null}
    </Stack>
  );
}
