/** One project: its details, its prompt cards in step order (create, edit, reorder, switch off, delete) and "Try it". */
import { StatusBadge } from './StatusBadge';
import { Badge, Box, Button, Center, Group, Loader, Paper, Stack, Switch, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { unwrap } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { useStudio } from '../studio';
import { CardForm, type CardFields } from './CardForm';
import { ConfirmModal } from '../components/ConfirmModal';
import { formatBytes, formatDate } from './format';
import { ProjectChat } from './ProjectChat';
import type { Card, CardCreate, CardSummary, CardUpdate, Project } from './types';
import { useLoad } from './useLoad';

const STEP_GAP = 10;

export interface ProjectDetailProps {
  projectId: string;
  onBack: () => void;
  onEdit: (p: Project) => void;
  onDelete: (p: Project) => void;
  /** Changes when the project was edited elsewhere (reload it). */
  version: number;
}

export function ProjectDetail({ projectId, onBack, onEdit, onDelete, version }: ProjectDetailProps) {
  const { clients } = useStudio();
  const path = { project_id: projectId };
  const project = useLoad((signal) => unwrap(clients.api.GET('/projects/{project_id}', { params: { path }, signal })).then((r) => r.result), [clients, projectId, version]);
  const cards = useLoad((signal) => unwrap(clients.api.GET('/projects/{project_id}/prompt-cards', { params: { path }, signal })).then((r) => r.result.prompt_cards), [clients, projectId]);

  const [formOpen, setFormOpen] = useState(false);
  const [editId, setEditId] = useState<string>();
  const [editCard, setEditCard] = useState<Card>();
  const [editError, setEditError] = useState<unknown>();
  const [deleting, setDeleting] = useState<CardSummary>();
  const [busyCard, setBusyCard] = useState<string>();
  const [actionError, setActionError] = useState<unknown>();
  const [notice, setNotice] = useState('');

  const list = cards.data ?? [];
  const nextStep = list.length ? Math.min(10000, Math.max(...list.map((c) => c.step_order)) + 1) : 1;

  const loadCard = async (id: string) => {
    setEditError(undefined);
    setEditCard(undefined);
    try {
      setEditCard((await unwrap(clients.api.GET('/projects/{project_id}/prompt-cards/{prompt_id}', { params: { path: { project_id: projectId, prompt_id: id } } }))).result);
    } catch (err) {
      setEditError(err);
    }
  };

  const openNew = () => {
    setEditId(undefined);
    setEditCard(undefined);
    setEditError(undefined);
    setFormOpen(true);
  };
  const openEdit = (id: string) => {
    setEditId(id);
    setFormOpen(true);
    void loadCard(id);
  };

  const saveCard = async (f: CardFields) => {
    if (editId) {
      const body: CardUpdate = { title: f.title, text: f.text, tags: f.tags, is_active: f.is_active, ...(f.step_order !== undefined ? { step_order: f.step_order } : {}) };
      const saved = (await unwrap(clients.api.PUT('/projects/{project_id}/prompt-cards/{prompt_id}', { params: { path: { project_id: projectId, prompt_id: editId } }, body }))).result;
      setNotice(`Saved card “${saved.title}”.`);
    } else {
      const body: CardCreate = { title: f.title, text: f.text, tags: f.tags, is_active: f.is_active, ...(f.step_order !== undefined ? { step_order: f.step_order } : {}) };
      const created = (await unwrap(clients.api.POST('/projects/{project_id}/prompt-cards', { params: { path }, body }))).result;
      setNotice(`Added card “${created.title}”.`);
    }
    cards.reload();
  };

  const update = async (c: CardSummary, body: CardUpdate, words: string) => {
    setBusyCard(c.prompt_id);
    setActionError(undefined);
    try {
      await unwrap(clients.api.PUT('/projects/{project_id}/prompt-cards/{prompt_id}', { params: { path: { project_id: projectId, prompt_id: c.prompt_id } }, body }));
      setNotice(words);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusyCard(undefined);
      cards.reload();
    }
  };

  /** Moves a card one place up or down: the cards get step orders 10, 20, 30… in the new order (only the changed ones are written). */
  const move = async (index: number, by: -1 | 1) => {
    const target = index + by;
    const moving = list[index];
    if (!moving || target < 0 || target >= list.length) return;
    const order = [...list];
    order.splice(index, 1);
    order.splice(target, 0, moving);
    setBusyCard(moving.prompt_id);
    setActionError(undefined);
    try {
      for (const [i, c] of order.entries()) {
        const step = (i + 1) * STEP_GAP;
        if (c.step_order === step) continue;
        const body: CardUpdate = { step_order: step };
        await unwrap(clients.api.PUT('/projects/{project_id}/prompt-cards/{prompt_id}', { params: { path: { project_id: projectId, prompt_id: c.prompt_id } }, body }));
      }
      setNotice(`Moved “${moving.title}” ${by < 0 ? 'up' : 'down'}: it is now step ${target + 1} of ${list.length}.`);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusyCard(undefined);
      cards.reload();
    }
  };

  const removeCard = async (c: CardSummary) => {
    await unwrap(clients.api.DELETE('/projects/{project_id}/prompt-cards/{prompt_id}', { params: { path: { project_id: projectId, prompt_id: c.prompt_id } } }));
    setNotice(`Deleted card “${c.title}”.`);
    cards.reload();
  };

  const p = project.data;
  return (
    <Stack gap="md">
      <Button variant="subtle" onClick={onBack} style={{ alignSelf: 'flex-start' }} px={4}>
        ← Back to projects
      </Button>
      {project.error !== undefined ? <ErrorNotice error={project.error} onRetry={project.reload} /> : null}
      {project.loading && !p ? (
        <Center py="md">
          <Loader aria-label="Loading the project" />
        </Center>
      ) : null}
      {p ? (
        <Stack gap="xs">
          <Group justify="space-between" align="flex-start" gap="sm">
            <Group gap="sm" align="center">
              <Title order={2} size="h3" style={{ overflowWrap: 'anywhere' }}>
                {p.name}
              </Title>
              <StatusBadge status={p.status} />
            </Group>
            <Group gap="xs">
              <Button size="xs" variant="default" onClick={() => onEdit(p)}>
                Edit project
              </Button>
              <Button size="xs" variant="outline" color="red.8" onClick={() => onDelete(p)}>
                Delete project
              </Button>
            </Group>
          </Group>
          {p.description ? <Text size="sm">{p.description}</Text> : null}
          <Text size="xs" c="gray.7">
            Created {formatDate(p.created_at)} · changed {formatDate(p.updated_at)}
            {Object.keys(p.settings).length ? ` · settings: ${Object.entries(p.settings).map(([k, v]) => `${k}=${String(v)}`).join(', ')}` : ''}
          </Text>
        </Stack>
      ) : null}

      <Box role="status" aria-live="polite">
        {notice ? (
          <Text size="sm" c="green.9">
            {notice}
          </Text>
        ) : null}
      </Box>

      <Paper withBorder p="sm" component="section" aria-labelledby="prompt-cards-title">
        <Stack gap="sm">
          <Group justify="space-between" gap="xs">
            <Title order={3} size="h4" id="prompt-cards-title">
              Prompt cards
            </Title>
            <Button size="xs" onClick={openNew}>
              New card
            </Button>
          </Group>
          <Text size="sm" c="gray.7">
            In step order: the chat shows the model the active ones, first to last.
          </Text>
          {actionError !== undefined ? <ErrorNotice error={actionError} onDismiss={() => setActionError(undefined)} /> : null}
          {cards.error !== undefined ? <ErrorNotice error={cards.error} onRetry={cards.reload} /> : null}
          {cards.loading && !cards.data ? <Loader size="sm" aria-label="Loading the prompt cards" /> : null}
          {cards.data && list.length === 0 ? <Text size="sm">No cards yet. Add one with “New card”.</Text> : null}
          <Stack gap="xs" component="ol" p={0} m={0} style={{ listStyle: 'none' }} aria-label="Prompt cards in step order">
            {list.map((c, i) => {
              const busy = busyCard !== undefined || cards.loading;
              return (
                <Paper key={c.prompt_id} component="li" withBorder p="sm" bg={c.is_active ? undefined : 'gray.0'} aria-labelledby={`card-${c.prompt_id}`} data-testid="prompt-card">
                  <Stack gap={6}>
                    <Group justify="space-between" gap="xs" align="flex-start">
                      <Box style={{ minWidth: 0 }}>
                        <Title order={4} size="h5" id={`card-${c.prompt_id}`} style={{ overflowWrap: 'anywhere' }}>
                          {c.title}
                        </Title>
                        <Text size="xs" c="gray.7">
                          Step {c.step_order} · {formatBytes(c.text_bytes)} · changed {formatDate(c.updated_at)}
                          {c.is_active ? '' : ' · inactive (not shown to the model)'}
                        </Text>
                      </Box>
                      <Switch
                        label="Active"
                        checked={c.is_active}
                        disabled={busy}
                        onChange={(e) => {
                          const on = e.currentTarget.checked;
                          void update(c, { is_active: on }, `“${c.title}” is now ${on ? 'active' : 'inactive'}.`);
                        }}
                      />
                    </Group>
                    {c.tags.length ? (
                      <Group gap={4} aria-label="Tags" role="list">
                        {c.tags.map((t) => (
                          <Badge key={t} role="listitem" size="sm" variant="outline" color="indigo.8" tt="none">
                            {t}
                          </Badge>
                        ))}
                      </Group>
                    ) : null}
                    <Group gap="xs" wrap="wrap">
                      <Button size="compact-sm" variant="default" disabled={busy || i === 0} loading={busyCard === c.prompt_id} onClick={() => void move(i, -1)}>
                        Move up
                      </Button>
                      <Button size="compact-sm" variant="default" disabled={busy || i === list.length - 1} onClick={() => void move(i, 1)}>
                        Move down
                      </Button>
                      <Button size="compact-sm" variant="light" disabled={busy} onClick={() => openEdit(c.prompt_id)}>
                        Edit
                      </Button>
                      <Button size="compact-sm" variant="outline" color="red.8" disabled={busy} onClick={() => setDeleting(c)}>
                        Delete
                      </Button>
                    </Group>
                  </Stack>
                </Paper>
              );
            })}
          </Stack>
        </Stack>
      </Paper>

      <ProjectChat projectId={projectId} />

      <CardForm
        opened={formOpen}
        card={editCard}
        editing={editId !== undefined}
        loadError={editError}
        onRetryLoad={() => editId && void loadCard(editId)}
        nextStep={nextStep}
        onSubmit={saveCard}
        onClose={() => setFormOpen(false)}
      />
      <ConfirmModal opened={deleting !== undefined} title="Delete this card?" confirmLabel="Delete card" danger onConfirm={() => (deleting ? removeCard(deleting) : Promise.resolve())} onClose={() => setDeleting(undefined)}>
        {`“${deleting?.title ?? ''}” and its text are deleted. This cannot be undone.`}
      </ConfirmModal>
    </Stack>
  );
}
