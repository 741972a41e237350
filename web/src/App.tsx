/** The studio's frame: a header with the user, a navigation bar (a drawer on phones) and the pages. */
import { AppShell, Burger, Button, Group, NavLink, Text, Title, VisuallyHidden } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { lazy, Suspense, type ReactNode } from 'react';
import { Navigate, NavLink as RouterLink, Route, Routes, useLocation, useNavigate } from 'react-router';
import { SignIn } from './pages/SignIn';
import { NewStory } from './pages/NewStory';
import { isAdmin, useIdentity, useStudio } from './studio';
import { Loader, Center } from '@mantine/core';

const Library = lazy(() => import('./pages/Library').then((m) => ({ default: m.Library })));
const JobPage = lazy(() => import('./pages/JobPage').then((m) => ({ default: m.JobPage })));
const AgentPage = lazy(() => import('./pages/Agent').then((m) => ({ default: m.AgentPage })));
const AdminPage = lazy(() => import('./pages/Admin').then((m) => ({ default: m.AdminPage })));

const LINKS = [
  { to: '/', label: 'New story' },
  { to: '/library', label: 'Library' },
  { to: '/agent', label: 'Story agent' },
];

function RequireSignIn({ children }: { children: ReactNode }) {
  const identity = useIdentity();
  const location = useLocation();
  if (!identity) return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

function RequireAdmin({ children }: { children: ReactNode }) {
  const identity = useIdentity();
  if (!isAdmin(identity)) return <Text role="alert">This page is for the admin group.</Text>;
  return <>{children}</>;
}

export function App() {
  const [opened, { toggle, close }] = useDisclosure();
  const identity = useIdentity();
  const { auth } = useStudio();
  const navigate = useNavigate();
  const links = isAdmin(identity) ? [...LINKS, { to: '/admin', label: 'Admin' }] : LINKS;
  const page = (node: ReactNode) => <RequireSignIn>{node}</RequireSignIn>;
  return (
    <AppShell header={{ height: 56 }} navbar={identity ? { width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } } : undefined} padding="md">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            {identity ? <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={opened ? 'Close navigation' : 'Open navigation'} /> : null}
            <Title order={2} size="h4">
              Story42 Studio
            </Title>
          </Group>
          {identity ? (
            <Group gap="xs" wrap="nowrap">
              <Text size="sm" visibleFrom="xs" aria-label="Signed in as">
                {identity.email}
              </Text>
              <Button
                size="xs"
                variant="default"
                onClick={() => {
                  void auth.signOut().then(() => navigate('/signin'));
                }}
              >
                Sign out
              </Button>
            </Group>
          ) : null}
        </Group>
      </AppShell.Header>
      {identity ? (
        <AppShell.Navbar p="sm" aria-label="Main">
          <VisuallyHidden>
            <h2>Navigation</h2>
          </VisuallyHidden>
          {links.map((l) => (
            <NavLink key={l.to} component={RouterLink} to={l.to} end={l.to === '/'} label={l.label} onClick={close} variant="filled" />
          ))}
        </AppShell.Navbar>
      ) : null}
      <AppShell.Main id="main" tabIndex={-1}>
        <Suspense
          fallback={
            <Center mt="xl">
              <Loader aria-label="Loading" />
            </Center>
          }
        >
          <Routes>
            <Route path="/signin" element={<SignIn />} />
            <Route path="/" element={page(<NewStory />)} />
            <Route path="/library" element={page(<Library />)} />
            <Route path="/library/:jobId" element={page(<JobPage />)} />
            <Route path="/agent" element={page(<AgentPage />)} />
            <Route path="/agent/:sessionId" element={page(<AgentPage />)} />
            <Route path="/admin" element={page(<RequireAdmin><AdminPage /></RequireAdmin>)} />
            <Route path="*" element={<Text role="alert">No such page.</Text>} />
          </Routes>
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
