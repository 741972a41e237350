/** The library: the caller's stories, newest first, a page at a time; open one, or delete it. */
import { Anchor, Button, Center, Loader, SimpleGrid, Stack, Text, Title, VisuallyHidden } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { ErrorNotice } from '../components/ErrorNotice';
import { JobCard } from '../library/JobCard';
import type { JobListItem } from '../library/job';
import { listJobs } from '../library/load';
import { useStudio } from '../studio';
import '../library/library.css';

export function Library() {
  const { clients } = useStudio();
  const location = useLocation();
  const navigate = useNavigate();
  const [jobs, setJobs] = useState<JobListItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>();
  const [announcement, setAnnouncement] = useState('');

  // A story deleted on its own page says so here.
  useEffect(() => {
    const state: unknown = location.state;
    if (typeof state === 'object' && state !== null && 'deleted' in state && typeof state.deleted === 'string') {
      setAnnouncement(`Deleted “${state.deleted}”.`);
      void navigate(location.pathname, { replace: true, state: null });
    }
  }, [location.state, location.pathname, navigate]);

  const load = useCallback(
    async (from: string | null, signal?: AbortSignal) => {
      setLoading(true);
      setError(undefined);
      try {
        const page = await listJobs(clients.api, from ?? undefined, signal);
        setJobs((old) => {
          const known = new Set(from ? old.map((j) => j.job_id) : []);
          return [...(from ? old : []), ...page.jobs.filter((j) => !known.has(j.job_id))];
        });
        setCursor(page.nextCursor);
        setLoaded(true);
        if (from) setAnnouncement(`${page.jobs.length} more ${page.jobs.length === 1 ? 'story' : 'stories'} loaded.`);
      } catch (err) {
        if (!signal?.aborted) setError(err);
      } finally {
        if (!signal?.aborted) setLoading(false);
      }
    },
    [clients.api],
  );

  useEffect(() => {
    const ctl = new AbortController();
    void load(null, ctl.signal);
    return () => ctl.abort();
  }, [load]);

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
      {error !== undefined ? <ErrorNotice error={error} onRetry={() => void load(jobs.length > 0 ? cursor : null)} /> : null}
      {loading ? (
        <Center py="md" role="status">
          <Loader aria-hidden="true" />
          <VisuallyHidden>{jobs.length > 0 ? 'Loading more stories…' : 'Loading your stories…'}</VisuallyHidden>
        </Center>
      ) : cursor && !error ? (
        <Center>
          <Button variant="default" onClick={() => void load(cursor)}>
            Load more
          </Button>
        </Center>
      ) : null}
    </Stack>
  );
}
