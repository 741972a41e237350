/** Create or edit a prompt card: title, text, tags, active, step order. */
import { Button, Center, Group, Loader, Modal, NumberInput, Stack, Switch, TagsInput, TextInput, Textarea } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorNotice } from '../components/ErrorNotice';
import { useAction } from '../components/useAction';
import type { Card } from './types';

export interface CardFields {
  title: string;
  text: string;
  tags: string[];
  is_active: boolean;
  step_order: number | undefined;
}

const MONO = { input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 'var(--mantine-font-size-sm)' } };

export interface CardFormProps {
  opened: boolean;
  /** The card being edited (with its text); undefined while it loads, or for a new card. */
  card?: Card;
  editing: boolean;
  loadError?: unknown;
  onRetryLoad?: () => void;
  nextStep: number;
  onSubmit: (fields: CardFields) => Promise<void>;
  onClose: () => void;
}

export function CardForm({ opened, card, editing, loadError, onRetryLoad, nextStep, onSubmit, onClose }: CardFormProps) {
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const [tags, setTags] = useState<string[]>([]);
  const [active, setActive] = useState(true);
  const [step, setStep] = useState<number | string>(nextStep);
  const { busy, error, run, clearError } = useAction();

  useEffect(() => {
    if (!opened) return;
    setTitle(card?.title ?? '');
    setText(card?.text ?? '');
    setTags(card?.tags ?? []);
    setActive(card?.is_active ?? true);
    setStep(card?.step_order ?? nextStep);
    clearError();
  }, [opened, card, nextStep, clearError]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await run(() => onSubmit({ title: title.trim(), text, tags, is_active: active, step_order: typeof step === 'number' ? step : undefined }))) onClose();
  };

  const loading = editing && !card && loadError === undefined;
  return (
    <Modal opened={opened} onClose={busy ? () => undefined : onClose} title={editing ? `Edit card${card ? ` “${card.title}”` : ''}` : 'New prompt card'} size="lg" centered>
      {loadError !== undefined ? <ErrorNotice error={loadError} onRetry={onRetryLoad} /> : null}
      {loading ? (
        <Center py="lg">
          <Loader aria-label="Loading the card" />
        </Center>
      ) : null}
      {!loading && loadError === undefined ? (
        <form onSubmit={(e) => void submit(e)}>
          <Stack>
            <TextInput label="Title" value={title} onChange={(e) => setTitle(e.currentTarget.value)} required maxLength={200} data-autofocus />
            <Textarea label="Text" description="The instruction the model is shown (up to 32 KB)." value={text} onChange={(e) => setText(e.currentTarget.value)} required autosize minRows={4} maxRows={16} styles={MONO} />
            <TagsInput label="Tags" description="Press Enter after each tag (up to 20)." value={tags} onChange={setTags} maxTags={20} clearable />
            <Group gap="lg" align="flex-end" wrap="wrap">
              <NumberInput label="Step order" description="0–10,000; lower runs first" value={step} onChange={setStep} min={0} max={10000} allowDecimal={false} allowNegative={false} w={200} />
              <Switch label="Active" description="Shown to the model" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} />
            </Group>
            {error !== undefined ? <ErrorNotice error={error} /> : null}
            <Group justify="flex-end" gap="xs">
              <Button variant="default" onClick={onClose} disabled={busy}>
                Cancel
              </Button>
              <Button type="submit" loading={busy} disabled={title.trim() === '' || text.trim() === ''}>
                {editing ? 'Save card' : 'Create card'}
              </Button>
            </Group>
          </Stack>
        </form>
      ) : null}
    </Modal>
  );
}
