/** Admin (the `admin` group): the assistants' prompts, and projects with their prompt cards and chat. */
import { Stack, Tabs, Text, Title } from '@mantine/core';
import { useSearchParams } from 'react-router';
import { ProjectsPanel } from '../admin/ProjectsPanel';
import { PromptsPanel } from '../admin/PromptsPanel';

type Tab = 'prompts' | 'projects';

export function AdminPage() {
  const [params, setParams] = useSearchParams();
  const tab: Tab = params.get('tab') === 'projects' ? 'projects' : 'prompts';
  const choose = (value: string | null) => {
    // Switching tabs starts the tab afresh (the prompt or project shown lives in the address).
    const next = new URLSearchParams();
    next.set('tab', value === 'projects' ? 'projects' : 'prompts');
    setParams(next);
  };
  return (
    <Stack gap="md">
      <div>
        <Title order={1}>Admin</Title>
        <Text size="sm" c="gray.7">
          The assistants’ prompts, and projects with their prompt cards.
        </Text>
      </div>
      <Tabs value={tab} onChange={choose} keepMounted={false}>
        <Tabs.List aria-label="Admin sections">
          <Tabs.Tab value="prompts">Prompts</Tabs.Tab>
          <Tabs.Tab value="projects">Projects</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="prompts" pt="md">
          <PromptsPanel />
        </Tabs.Panel>
        <Tabs.Panel value="projects" pt="md">
          <ProjectsPanel />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
