/** One story of the library: its title, kind, date and provider, its files to download, the story itself (StoryView), and Delete. */
import { Alert, Anchor, Badge, Button, Center, Group, Loader, Stack, Text, Title, VisuallyHidden } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ErrorNotice } from '../components/ErrorNotice';
import { ConfirmDelete } from '../library/ConfirmDelete';
import { Downloads } from '../library/Downloads';
import { formatDate } from '../library/download';
import { KIND_LABELS, jobView, type JobView } from '../library/job';
import { OutlineSection, TopicsSection } from '../library/JobParts';
import { JOB_MAX_PAGES, loadJob } from '../library/load';
import type { StoryDoc } from '../story/model';
import { StoryView } from '../story/StoryView';
import { useStudio } from '../studio';
import '../library/library.css';

export function JobPage() {
  const { jobId = '' } = useParams();
  const { clients } = useStudio();
  const navigate = useNavigate();
  const [view, setView] = useState<JobView>();
  const [complete, setComplete] = useState(true);
  const [doc, setDoc] = useState<StoryDoc>();
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    const ctl = new AbortController();
    setError(undefined);
    setView(undefined);
    setDoc(undefined);
    loadJob(clients.api, jobId, ctl.signal)
      .then(({ job, complete: all }) => {
        const v = jobView(job);
        setView(v);
        setDoc(v.doc);
        setComplete(all);
      })
      .catch((err: unknown) => {
        if (!ctl.signal.aborted) setError(err);
      });
    return () => ctl.abort();
  }, [clients.api, jobId, attempt]);

  useEffect(() => {
    if (!view) return;
    const before = document.title;
    document.title = `${view.title} · Story42 Studio`;
    return () => {
      document.title = before;
    };
  }, [view]);

  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  const back = (
    <Anchor component={Link} to="/library" size="sm">
      ← Back to the library
    </Anchor>
  );

  if (error !== undefined)
    return (
      <Stack gap="md" maw={960}>
        {back}
        <Title order={1}>Story {jobId}</Title>
        <ErrorNotice error={error} onRetry={retry} />
      </Stack>
    );

  if (!view)
    return (
      <Stack gap="md" maw={960}>
        {back}
        <Center py="xl" role="status">
          <Loader aria-hidden="true" />
          <VisuallyHidden>Loading the story…</VisuallyHidden>
        </Center>
      </Stack>
    );

  const provider = doc?.provider ?? view.provider;
  return (
    <Stack gap="md" maw={960}>
      {back}
      <Stack gap={6}>
        <Title order={1}>{view.title}</Title>
        <Group gap="sm" wrap="wrap">
          <Badge variant="light" color={view.kind === 'audio' ? 'grape' : 'indigo'}>
            {KIND_LABELS[view.kind]}
          </Badge>
          {view.stage === 'outline' ? (
            <Badge variant="outline" color="gray">
              Outline only
            </Badge>
          ) : null}
          {view.updatedAt ? (
            <Text size="sm" c="gray.7" component="span">
              Last changed <time dateTime={view.updatedAt}>{formatDate(view.updatedAt)}</time>
            </Text>
          ) : null}
          {provider ? (
            <Text size="sm" c="gray.7" component="span">
              Written by {provider}
            </Text>
          ) : null}
          {doc?.artStyle ? (
            <Text size="sm" c="gray.7" component="span">
              Art style: {doc.artStyle}
            </Text>
          ) : null}
        </Group>
        <Text size="xs" c="gray.7">
          Job {view.jobId}
        </Text>
      </Stack>
      {view.status === 'incomplete' ? (
        <Alert color="yellow" variant="light" title="Still being made" role="status">
          A call on this story has not finished (or stopped part-way): some pictures or narration may be missing.{' '}
          <Anchor component="button" type="button" onClick={retry}>
            Reload
          </Anchor>
        </Alert>
      ) : null}
      {!complete ? (
        <Alert color="yellow" variant="light" title="A very long job" role="status">
          Only the first {JOB_MAX_PAGES} pages of this job were read; its newest changes may be missing.
        </Alert>
      ) : null}
      <Downloads jobId={view.jobId} view={view} {...(doc ? { doc } : {})} />
      {doc ? (
        <StoryView doc={doc} onChange={setDoc} />
      ) : view.outline ? (
        <OutlineSection outline={view.outline} />
      ) : view.topics ? (
        <TopicsSection topics={view.topics} />
      ) : (
        <Text>This job has no story, outline or topic ideas to show.</Text>
      )}
      <Group>
        <Button color="red" variant="outline" onClick={() => setConfirming(true)}>
          Delete story
        </Button>
      </Group>
      <ConfirmDelete
        jobId={view.jobId}
        title={view.title}
        opened={confirming}
        onClose={() => setConfirming(false)}
        onDeleted={() => {
          setConfirming(false);
          void navigate('/library', { state: { deleted: view.title } });
        }}
      />
    </Stack>
  );
}
