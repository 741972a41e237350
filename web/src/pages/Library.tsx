/** The library: the caller's stories, newest first, a page at a time; open one, or delete it. */
import { Anchor, Button, Center, Loader, SimpleGrid, Stack, Text, Title, VisuallyHidden } from '@mantine/core';
import { useEffect, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { ErrorNotice } from '../components/ErrorNotice';
import { usePagedList } from '../components/usePagedList';
import { JobCard } from '../library/JobCard';
import type { JobListItem } from '../library/job';
import { listJobs } from '../library/load';
import { useStudio } from '../studio';
import '../library/library.css';

export function Library() {
  const { clients } = useStudio();
  const location = useLocation();
  const navigate = useNavigate();
  const [announcement, setAnnouncement] = useState('');
  const {
    items: jobs,
    setItems: setJobs,
    cursor,
    loading,
    loaded,
    error,
    more,
    retry,
  } = usePagedList<JobListItem>({
    fetchPage: async (from, signal) => {
      const page = await listJobs(clients.api, from ?? undefined, signal);
      return { items: page.jobs, next: page.nextCursor };
    },
    keyOf: (j) => j.job_id,
    deps: [clients.api],
    onMore: (count) => setAnnouncement(`${count} more ${count === 1 ? 'story' : 'stories'} loaded.`),
  });

  // A story deleted on its own page says so here.
  useEffect(() => {
    const state: unknown = location.state;
    if (typeof state === 'object' && state !== null && 'deleted' in state && typeof state.deleted === 'string') {
      setAnnouncement(`Deleted “${state.deleted}”.`);
      void navigate(location.pathname, { replace: true, state: null });
    }
  }, [location.state, location.pathname, navigate]);

  const removed = (jobId: string, title: string) => {
    setJobs((old) => old.filter((j) => j.job_id !== jobId));
    setAnnouncement(`Deleted “${title}”.`);
  };

  return (
    <Stack gap="md" maw={1200}>
      <Title order={1}>Library</Title>
      <Text role="status" aria-live="polite" size="sm">
        {announcement}
      </Text>
      {loaded && jobs.length === 0 && !error ? (
        <Stack gap="xs" align="flex-start">
          <Title order={2} size="h3">
            No stories yet
          </Title>
          <Text>
            Your stories appear here once you have made one.{' '}
            <Anchor component={Link} to="/">
              New story
            </Anchor>
          </Text>
        </Stack>
      ) : null}
      {jobs.length > 0 ? (
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="md" component="section" aria-label="Your stories">
          {jobs.map((job) => (
            <JobCard key={job.job_id} item={job} onDeleted={(title) => removed(job.job_id, title)} />
          ))}
        </SimpleGrid>
      ) : null}
      {error !== undefined ? <ErrorNotice error={error} onRetry={retry} /> : null}
      {loading ? (
        <Center py="md" role="status">
          <Loader aria-hidden="true" />
          <VisuallyHidden>{jobs.length > 0 ? 'Loading more stories…' : 'Loading your stories…'}</VisuallyHidden>
        </Center>
      ) : cursor && !error ? (
        <Center>
          <Button variant="default" onClick={more}>
            Load more
          </Button>
        </Center>
      ) : null}
    </Stack>
  );
}
