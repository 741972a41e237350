/** "Are you sure?" before a change that cannot be undone from here; the call's error stays in the dialog. */
import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useEffect, type ReactNode } from 'react';
import { ErrorNotice } from './ErrorNotice';
import { useAction } from './useAction';

export interface ConfirmModalProps {
  opened: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

export function ConfirmModal({ opened, title, children, confirmLabel, danger, onConfirm, onClose }: ConfirmModalProps) {
  const { busy, error, run, clearError } = useAction();
  useEffect(() => {
    if (opened) clearError();
  }, [opened, clearError]);
  const confirm = async () => {
    if (await run(onConfirm)) onClose();
  };
  return (
    <Modal opened={opened} onClose={busy ? () => undefined : onClose} title={title} closeButtonProps={{ 'aria-label': 'Close' }} centered>
      <Stack>
        {typeof children === 'string' ? <Text size="sm">{children}</Text> : children}
        {error !== undefined ? <ErrorNotice error={error} onRetry={() => void confirm()} /> : null}
        <Group justify="flex-end" gap="xs">
          <Button variant="default" onClick={onClose} disabled={busy}>
            Cancel
          </Button>
          <Button color={danger ? 'red.8' : undefined} loading={busy} onClick={() => void confirm()} data-autofocus>
            {confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
