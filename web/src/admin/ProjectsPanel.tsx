/** The Projects tab: the caller's projects (paginated), create, edit, delete, and one project opened. */
import { StatusBadge } from './StatusBadge';
import { Alert, Box, Button, Card as MCard, Center, Group, Loader, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { unwrap } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { usePagedList } from '../components/usePagedList';
import { useStudio } from '../studio';
import { ConfirmModal } from '../components/ConfirmModal';
import { formatDate } from './format';
import { ProjectDetail } from './ProjectDetail';
import { ProjectForm, type ProjectFields } from './ProjectForm';
import type { Project, ProjectCreate, ProjectDeleted, ProjectUpdate } from './types';

const PAGE = 12;

export function ProjectsPanel() {
  const { clients } = useStudio();
  const [params, setParams] = useSearchParams();
  const openId = params.get('project') ?? '';

  const [tick, setTick] = useState(0);
  const {
    items: projects,
    setItems: setProjects,
    cursor,
    loading,
    error,
    more,
  } = usePagedList<Project>({
    fetchPage: async (after, signal) => {
      const page = (await unwrap(clients.api.GET('/projects', { params: { query: after ? { limit: String(PAGE), cursor: after } : { limit: String(PAGE) } }, signal }))).result;
      return { items: page.projects, next: page.next_cursor };
    },
    keyOf: (p) => p.project_id,
    deps: [clients, tick],
    // The list loads while no project is open (again after one closes).
    enabled: !openId,
  });
  const [detailVersion, setDetailVersion] = useState(0);

  const [formOpen, setFormOpen] = useState(false);
  const [editing, setEditing] = useState<Project>();
  const [deleting, setDeleting] = useState<Project>();
  const [notice, setNotice] = useState('');

  const open = (id: string | undefined) => {
    setNotice('');
    const next = new URLSearchParams(params);
    if (id) next.set('project', id);
    else next.delete('project');
    setParams(next);
  };

  const save = async (fields: ProjectFields) => {
    if (editing) {
      const body: ProjectUpdate = { name: fields.name, description: fields.description, status: fields.status };
      const updated = (await unwrap(clients.api.PUT('/projects/{project_id}', { params: { path: { project_id: editing.project_id } }, body }))).result;
      setProjects((ps) => ps.map((p) => (p.project_id === updated.project_id ? updated : p)));
      setNotice(`Saved project “${updated.name}”.`);
      setDetailVersion((v) => v + 1);
    } else {
      const body: ProjectCreate = { name: fields.name, description: fields.description, status: fields.status };
      const created = (await unwrap(clients.api.POST('/projects', { body }))).result;
      setProjects((ps) => [created, ...ps]);
      setNotice(`Created project “${created.name}”.`);
    }
  };

  const remove = async (p: Project) => {
    const done: ProjectDeleted = (await unwrap(clients.api.DELETE('/projects/{project_id}', { params: { path: { project_id: p.project_id } } }))).result;
    setProjects((ps) => ps.filter((x) => x.project_id !== p.project_id));
    if (openId === p.project_id) open(undefined);
    setNotice(`Deleted project “${p.name}”: ${done.deleted_cards} prompt ${done.deleted_cards === 1 ? 'card' : 'cards'} and ${done.deleted_chat_messages} chat ${done.deleted_chat_messages === 1 ? 'exchange' : 'exchanges'} went with it.`);
  };

  const status = (
    <Box role="status" aria-live="polite">
      {notice ? (
        <Alert color="green" variant="light" withCloseButton closeButtonLabel="Dismiss" onClose={() => setNotice('')}>
          {notice}
        </Alert>
      ) : null}
    </Box>
  );

  const dialogs = (
    <>
      <ProjectForm
        opened={formOpen}
        project={editing}
        onSubmit={save}
        onClose={() => {
          setFormOpen(false);
          setEditing(undefined);
        }}
      />
      <ConfirmModal opened={deleting !== undefined} title="Delete this project?" confirmLabel="Delete project" danger onConfirm={() => (deleting ? remove(deleting) : Promise.resolve())} onClose={() => setDeleting(undefined)}>
        {`“${deleting?.name ?? ''}” is deleted with all its prompt cards and its chat history. This cannot be undone.`}
      </ConfirmModal>
    </>
  );

  if (openId) {
    return (
      <Stack gap="md">
        {status}
        <ProjectDetail
          projectId={openId}
          onBack={() => open(undefined)}
          onEdit={(p) => {
            setEditing(p);
            setFormOpen(true);
          }}
          onDelete={(p) => setDeleting(p)}
          version={detailVersion}
        />
        {dialogs}
      </Stack>
    );
  }

  return (
    <Stack gap="md">
      <Group justify="space-between" gap="sm">
        <Title order={2} size="h3">
          Your projects
        </Title>
        <Button
          onClick={() => {
            setEditing(undefined);
            setFormOpen(true);
          }}
        >
          New project
        </Button>
      </Group>
      {status}
      {error !== undefined ? <ErrorNotice error={error} onRetry={() => setTick((t) => t + 1)} /> : null}
      {!loading && !error && projects.length === 0 ? <Text c="gray.7">No projects yet. A project groups prompt cards that a chat follows.</Text> : null}
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="md">
        {projects.map((p) => (
          <MCard key={p.project_id} withBorder padding="md" component="article" aria-labelledby={`project-${p.project_id}`}>
            <Stack gap="xs" h="100%">
              <Group justify="space-between" gap="xs" wrap="nowrap" align="flex-start">
                <Title order={3} size="h4" id={`project-${p.project_id}`} style={{ overflowWrap: 'anywhere' }}>
                  {p.name}
                </Title>
                <StatusBadge status={p.status} />
              </Group>
              {p.description ? (
                <Text size="sm" lineClamp={3}>
                  {p.description}
                </Text>
              ) : null}
              <Text size="xs" c="gray.7">
                Created {formatDate(p.created_at)}
              </Text>
              <Group gap="xs" mt="auto">
                <Button size="xs" onClick={() => open(p.project_id)}>
                  Open
                </Button>
                <Button
                  size="xs"
                  variant="default"
                  onClick={() => {
                    setEditing(p);
                    setFormOpen(true);
                  }}
                >
                  Edit
                </Button>
                <Button size="xs" variant="outline" color="red.8" onClick={() => setDeleting(p)}>
                  Delete
                </Button>
              </Group>
            </Stack>
          </MCard>
        ))}
      </SimpleGrid>
      {loading ? (
        <Center py="md">
          <Loader aria-label="Loading projects" />
        </Center>
      ) : null}
      {cursor && !loading ? (
        <Button variant="default" style={{ alignSelf: 'center' }} onClick={more}>
          Load more projects
        </Button>
      ) : null}
      {dialogs}
    </Stack>
  );
}
