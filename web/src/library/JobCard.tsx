/** One job in the library: its first panel, title, kind, date, narration, Open and Delete. Its details load when it comes into view, three jobs at a time. */
import { Badge, Button, Card, Group, Skeleton, Stack, Text, Title, VisuallyHidden } from '@mantine/core';
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { Link } from 'react-router';
import { ErrorNotice } from '../components/ErrorNotice';
import { useStudio } from '../studio';
import { ConfirmDelete } from './ConfirmDelete';
import { formatDate } from './download';
import { duration, jobView, KIND_LABELS, type JobListItem, type JobView } from './job';
import { createLimiter } from './limit';
import { jobFirstPage } from './load';

/** Job details in flight at most, across the whole library. */
const details = createLimiter(3);

/** True once the element has come near the viewport (at once where IntersectionObserver is missing). */
function useSeen<T extends Element>(): [React.RefObject<T | null>, boolean] {
  const ref = useRef<T>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (seen || !el) return;
    if (typeof IntersectionObserver === 'undefined') {
      setSeen(true);
      return;
    }
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setSeen(true);
    }, { rootMargin: '300px' });
    io.observe(el);
    return () => io.disconnect();
  }, [seen]);
  return [ref, seen];
}

const STAGE_NOTE: Record<JobView['stage'], string | undefined> = { story: undefined, outline: 'Outline only', topics: undefined, empty: undefined };

export function JobCard({ item, onDeleted }: { item: JobListItem; onDeleted: (title: string) => void }) {
  const { clients } = useStudio();
  const [ref, seen] = useSeen<HTMLDivElement>();
  const [view, setView] = useState<JobView>();
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  const [confirming, setConfirming] = useState(false);
  const titleId = useId();
  const audioId = useId();

  useEffect(() => {
    if (!seen) return;
    const ctl = new AbortController();
    setError(undefined);
    details(() => jobFirstPage(clients.api, item.job_id, ctl.signal), ctl.signal)
      .then((job) => setView(jobView(job)))
      .catch((err: unknown) => {
        if (!ctl.signal.aborted) setError(err);
      });
    return () => ctl.abort();
  }, [seen, clients.api, item.job_id, attempt]);

  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  const title = view?.title ?? item.job_id;
  const thumb = view?.panels[0];
  const stageNote = view ? STAGE_NOTE[view.stage] : undefined;

  return (
    <Card ref={ref} withBorder radius="md" padding="md" component="article" aria-labelledby={titleId} aria-busy={!view && !error}>
      <Card.Section>
        {thumb ? (
          <img src={thumb.url} alt={`First panel of “${title}”`} loading="lazy" className="panel-image library-thumb" width={512} height={512} />
        ) : view ? (
          <div className="library-thumb library-thumb-empty" aria-hidden="true">
            <span>{view.kind === 'audio' ? '♪' : '✎'}</span>
          </div>
        ) : (
          <Skeleton className="library-thumb" radius={0} />
        )}
      </Card.Section>
      <Stack gap="xs" mt="sm" style={{ flex: 1 }}>
        <Title order={2} size="h4" id={titleId} lineClamp={3}>
          {title}
        </Title>
        <Group gap="xs">
          {view ? (
            <Badge variant="light" color={view.kind === 'audio' ? 'grape' : 'indigo'}>
              {KIND_LABELS[view.kind]}
            </Badge>
          ) : null}
          {stageNote ? (
            <Badge variant="outline" color="gray">
              {stageNote}
            </Badge>
          ) : null}
          <Text size="sm" c="gray.7" component="span">
            <VisuallyHidden>Last changed </VisuallyHidden>
            <time dateTime={item.last_created_at}>{formatDate(item.last_created_at)}</time>
          </Text>
        </Group>
        {!view && !error ? (
          <Text size="sm" c="gray.7" role="status">
            Loading details…
          </Text>
        ) : null}
        {error !== undefined ? <ErrorNotice error={error} onRetry={retry} /> : null}
        {view?.storyAudio ? (
          <Stack gap={4}>
            <Text size="sm" id={audioId}>
              Narration of the whole story ({duration(view.storyAudio.durationSeconds)})
            </Text>
            <audio controls preload="none" src={view.storyAudio.url} aria-labelledby={audioId} className="library-audio" />
          </Stack>
        ) : null}
        <Group gap="sm" mt="auto" pt="xs">
          <Button component={Link} to={`/library/${encodeURIComponent(item.job_id)}`} size="sm">
            Open
            <VisuallyHidden> “{title}”</VisuallyHidden>
          </Button>
          <Button size="sm" variant="default" color="red" onClick={() => setConfirming(true)}>
            Delete
            <VisuallyHidden> “{title}”</VisuallyHidden>
          </Button>
        </Group>
      </Stack>
      <ConfirmDelete
        jobId={item.job_id}
        title={title}
        opened={confirming}
        onClose={() => setConfirming(false)}
        onDeleted={() => {
          setConfirming(false);
          onDeleted(title);
        }}
      />
    </Card>
  );
}
