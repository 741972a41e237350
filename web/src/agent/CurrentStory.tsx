/**
 * The session's current story: its one-line summary and, when it names its job, the job's
 * pictures and narration with fresh links (GET /jobs/{job_id}), so they are there after a reload.
 */
import { Anchor, Center, Loader, Stack, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router';
import { unwrap, type Result } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { useStudio } from '../studio';
import type { NarrationPart, Picture } from './model';
import { NarrationList, PictureGrid } from './TurnView';

type Job = Result<'/jobs/{job_id}', 'get'>;

/** The newest picture of each panel (a redrawn panel is stored beside the first one). */
function panelPictures(images: Job['images']): Picture[] {
  const best = new Map<number, { url: string; at: string }>();
  images.forEach((img, i) => {
    const n = Number(/segment_(\d+)(?:_[^/]*)?\.png$/.exec(img.s3_uri)?.[1] ?? i + 1);
    const prev = best.get(n);
    if (!prev || img.last_modified >= prev.at) best.set(n, { url: img.presigned_url, at: img.last_modified });
  });
  return [...best.entries()].sort((a, b) => a[0] - b[0]).map(([panel, v]) => ({ panel, url: v.url }));
}

function narrationParts(audio: Job['audio']): NarrationPart[] {
  if (!audio) return [];
  const parts: NarrationPart[] = audio.sections.map((s) => ({ section: s.section_num, url: s.audio_presigned_url, seconds: s.duration_seconds })).sort((a, b) => (a.section ?? 0) - (b.section ?? 0));
  if (audio.story) parts.unshift({ section: null, url: audio.story.audio_presigned_url, seconds: audio.story.duration_seconds });
  return parts;
}

export function CurrentStory({ story, jobId, version }: { story: string; jobId: string | null; /** changes when the story may have changed */ version: number }) {
  const { clients } = useStudio();
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);

  const load = useCallback(
    (signal?: AbortSignal) => {
      if (!jobId) return;
      setLoading(true);
      setError(undefined);
      unwrap(clients.api.GET('/jobs/{job_id}', { params: { path: { job_id: jobId }, query: { limit: '50' } }, signal }))
        .then((out) => setJob(out.result))
        .catch((err: unknown) => {
          if (!signal?.aborted) setError(err);
        })
        .finally(() => {
          if (!signal?.aborted) setLoading(false);
        });
    },
    [clients, jobId],
  );

  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal);
    return () => controller.abort();
  }, [load, version]);

  const pictures = job && job.job_id === jobId ? panelPictures(job.images) : [];
  const narration = job && job.job_id === jobId ? narrationParts(job.audio) : [];
  return (
    <Stack gap="xs" component="section" aria-labelledby="current-story-heading">
      <Title order={2} size="h4" id="current-story-heading">
        Current story
      </Title>
      <Text size="sm" data-testid="session-story">
        {story || 'No story yet. Ask the agent for one.'}
      </Text>
      {jobId ? (
        <Anchor component={Link} to={`/library/${jobId}`} size="sm">
          Open the story in the library
        </Anchor>
      ) : null}
      {error ? <ErrorNotice error={error} onRetry={() => load()} /> : null}
      {loading && !job ? (
        <Center>
          <Loader size="sm" aria-label="Loading the story's pictures and narration" />
        </Center>
      ) : null}
      {pictures.length ? (
        <>
          <Text size="sm" fw={600}>
            Pictures
          </Text>
          <PictureGrid pictures={pictures} of={pictures.length} narrow />
        </>
      ) : null}
      {narration.length ? (
        <>
          <Text size="sm" fw={600}>
            Narration
          </Text>
          <NarrationList parts={narration} />
        </>
      ) : null}
    </Stack>
  );
}
