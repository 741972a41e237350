/** Create or edit a project: name, description, status (settings are kept as they are). */
import { Button, Group, Modal, SegmentedControl, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorNotice } from '../components/ErrorNotice';
import { useAction } from '../components/useAction';
import type { Project, ProjectStatus } from './types';

export interface ProjectFields {
  name: string;
  description: string;
  status: ProjectStatus;
}

export function ProjectForm({ opened, project, onSubmit, onClose }: { opened: boolean; project?: Project; onSubmit: (fields: ProjectFields) => Promise<void>; onClose: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [status, setStatus] = useState<ProjectStatus>('active');
  const { busy, error, run, clearError } = useAction();

  useEffect(() => {
    if (!opened) return;
    setName(project?.name ?? '');
    setDescription(project?.description ?? '');
    setStatus(project?.status ?? 'active');
    clearError();
  }, [opened, project, clearError]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await run(() => onSubmit({ name: name.trim(), description: description.trim(), status }))) onClose();
  };

  return (
    <Modal opened={opened} onClose={busy ? () => undefined : onClose} title={project ? `Edit project “${project.name}”` : 'New project'} centered>
      <form onSubmit={(e) => void submit(e)}>
        <Stack>
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} required maxLength={200} data-autofocus />
          <Textarea label="Description" value={description} onChange={(e) => setDescription(e.currentTarget.value)} autosize minRows={2} maxRows={8} maxLength={2000} />
          <Stack gap={4}>
            <Text size="sm" fw={500} id="project-status-label">
              Status
            </Text>
            <SegmentedControl
              aria-labelledby="project-status-label"
              value={status}
              onChange={(v) => setStatus(v === 'archived' ? 'archived' : 'active')}
              data={[
                { value: 'active', label: 'Active' },
                { value: 'archived', label: 'Archived' },
              ]}
            />
          </Stack>
          {error !== undefined ? <ErrorNotice error={error} /> : null}
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={onClose} disabled={busy}>
              Cancel
            </Button>
            <Button type="submit" loading={busy} disabled={name.trim() === ''}>
              {project ? 'Save project' : 'Create project'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
