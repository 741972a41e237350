/** Sign in with the user pool (and set a new password when an admin-created user signs in first). */
import { Button, Paper, PasswordInput, Stack, Text, TextInput, Title, Alert } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useLocation, useNavigate } from 'react-router';
import type { NewPasswordChallenge } from '../auth';
import { useStudio } from '../studio';

export function SignIn() {
  const { auth } = useStudio();
  const navigate = useNavigate();
  const location = useLocation();
  const back = typeof location.state === 'object' && location.state !== null && 'from' in location.state && typeof location.state.from === 'string' ? location.state.from : '/';
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [challenge, setChallenge] = useState<NewPasswordChallenge>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (challenge) await auth.setNewPassword(challenge, newPassword);
      else {
        const next = await auth.signIn(username.trim(), password);
        if (next) {
          setChallenge(next);
          return;
        }
      }
      navigate(back, { replace: true });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Paper maw={420} mx="auto" mt="xl" p="lg" withBorder>
      <form onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <Stack>
          <Title order={1} size="h2" id="signin-title">
            Sign in to Story42 Studio
          </Title>
          {challenge ? (
            <>
              <Text size="sm">This is your first sign-in: choose a new password.</Text>
              <PasswordInput label="New password" value={newPassword} onChange={(e) => setNewPassword(e.currentTarget.value)} required autoComplete="new-password" maxLength={256} />
            </>
          ) : (
            <>
              <TextInput label="Username or email" value={username} onChange={(e) => setUsername(e.currentTarget.value)} required autoComplete="username" maxLength={256} />
              <PasswordInput label="Password" value={password} onChange={(e) => setPassword(e.currentTarget.value)} required autoComplete="current-password" maxLength={256} />
            </>
          )}
          {error ? (
            <Alert color="red" role="alert" title="Not signed in">
              {error}
            </Alert>
          ) : null}
          <Button type="submit" loading={busy}>
            {challenge ? 'Set password and sign in' : 'Sign in'}
          </Button>
          <Text size="xs" c="dimmed">
            Accounts are created by your studio's administrator.
          </Text>
        </Stack>
      </form>
    </Paper>
  );
}
