/** A failed call in words, with a retry button (counting down Retry-After when the API gave one). */
import { Alert, Button, Group, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import { describeError } from '../api/client';

export function ErrorNotice({ error, onRetry, onDismiss }: { error: unknown; onRetry?: () => void; onDismiss?: () => void }) {
  const d = describeError(error);
  const [wait, setWait] = useState(d.retryAfter ?? 0);
  useEffect(() => {
    setWait(d.retryAfter ?? 0);
  }, [error, d.retryAfter]);
  useEffect(() => {
    if (wait <= 0) return;
    const t = setTimeout(() => setWait((w) => w - 1), 1000);
    return () => clearTimeout(t);
  }, [wait]);
  return (
    <Alert color="red" title={d.title} role="alert" variant="light" styles={{ title: { color: 'var(--mantine-color-red-9)' } }}>
      <Text size="sm">{d.message}</Text>
      {(onRetry && d.canRetry) || onDismiss ? (
        <Group mt="sm" gap="xs">
          {onRetry && d.canRetry ? (
            <Button size="xs" onClick={onRetry} disabled={wait > 0}>
              {wait > 0 ? `Try again in ${wait} s` : 'Try again'}
            </Button>
          ) : null}
          {onDismiss ? (
            <Button size="xs" variant="default" onClick={onDismiss}>
              Dismiss
            </Button>
          ) : null}
        </Group>
      ) : null}
    </Alert>
  );
}
