/** A job's files to save: each panel picture (PNG), the narration (MP3: the whole story and each section) and the story as Markdown. */
import { Alert, Anchor, Button, Group, Paper, Stack, Text, Title } from '@mantine/core';
import { useEffect, useMemo, useRef, useState } from 'react';
import { storyMarkdown, type StoryDoc } from '../story/model';
import { DownloadError, formatBytes, saveBlob, saveUrl } from './download';
import { duration, fileNameOf, type AudioFile, type JobView, type PanelFile } from './job';

interface Props {
  jobId: string;
  view: JobView;
  /** The story as it is now (edits included); its pictures and narration win over the job's. */
  doc?: StoryDoc;
}

/** The panels of the story as it is now, in story order. */
function panelsOf(jobId: string, view: JobView, doc: StoryDoc | undefined): PanelFile[] {
  if (!doc) return view.panels;
  return Object.entries(doc.images)
    .map(([panel, img]) => ({ panel: Number(panel), s3Uri: img.s3Uri, url: img.url, fileName: `${jobId}-${fileNameOf(img.s3Uri)}` }))
    .sort((a, b) => a.panel - b.panel);
}

function audioOf(jobId: string, view: JobView, doc: StoryDoc | undefined): { story?: AudioFile; sections: AudioFile[] } {
  const n = doc?.narration;
  if (!n) return { ...(view.storyAudio ? { story: view.storyAudio } : {}), sections: view.sectionAudio };
  return {
    story: { s3Uri: n.story.audio_s3_uri, url: n.story.audio_presigned_url, durationSeconds: n.story.duration_seconds, fileName: `${jobId}-${fileNameOf(n.story.audio_s3_uri)}` },
    sections: n.sections
      .map((s) => ({ sectionNum: s.section_num, s3Uri: s.audio_s3_uri, url: s.audio_presigned_url, durationSeconds: s.duration_seconds, fileName: `${jobId}-${fileNameOf(s.audio_s3_uri)}` }))
      .sort((a, b) => (a.sectionNum ?? 0) - (b.sectionNum ?? 0)),
  };
}

export function Downloads({ jobId, view, doc }: Props) {
  const panels = useMemo(() => panelsOf(jobId, view, doc), [jobId, view, doc]);
  const audio = useMemo(() => audioOf(jobId, view, doc), [jobId, view, doc]);
  const [busy, setBusy] = useState<string>();
  const [status, setStatus] = useState('');
  const [failure, setFailure] = useState<{ message: string; url?: string; fileName: string }>();
  const ctl = useRef<AbortController | null>(null);
  useEffect(() => () => ctl.current?.abort(), []);

  // The Markdown made at the click, from the story as it is then (a URL made earlier could be revoked by a re-render mid-download).
  const saveMarkdown = () => {
    if (!doc) return;
    saveBlob(new Blob([storyMarkdown(doc)], { type: 'text/markdown;charset=utf-8' }), `${jobId}.md`);
    setStatus(`Saved ${jobId}.md.`);
  };

  const save = async (label: string, file: { url: string; fileName: string }) => {
    ctl.current?.abort();
    const c = new AbortController();
    ctl.current = c;
    setBusy(file.fileName);
    setFailure(undefined);
    setStatus(`Downloading ${label}…`);
    try {
      const size = await saveUrl(file.url, file.fileName, c.signal);
      setStatus(`Saved ${file.fileName} (${formatBytes(size)}).`);
    } catch (err) {
      if (c.signal.aborted) return;
      setStatus('');
      setFailure({ message: err instanceof Error ? err.message : String(err), ...(err instanceof DownloadError ? { url: err.url } : {}), fileName: file.fileName });
    } finally {
      if (!c.signal.aborted) setBusy(undefined);
    }
  };

  if (!doc && panels.length === 0 && !audio.story && audio.sections.length === 0) return null;

  return (
    <Paper withBorder radius="md" p="md" component="section" aria-labelledby="downloads-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="downloads-title">
          Downloads
        </Title>
        {doc ? (
          <Group gap="sm">
            <Button variant="light" onClick={saveMarkdown}>
              Download story as Markdown
            </Button>
          </Group>
        ) : null}
        {panels.length > 0 ? (
          <Stack gap={6}>
            <Title order={3} size="h5">
              Panel pictures (PNG)
            </Title>
            <Group gap="xs">
              {panels.map((p) => (
                <Button key={p.s3Uri} size="xs" variant="default" loading={busy === p.fileName} onClick={() => void save(`panel ${p.panel}`, p)} aria-label={`Download panel ${p.panel} (PNG)`}>
                  Panel {p.panel}
                </Button>
              ))}
            </Group>
          </Stack>
        ) : null}
        {audio.story || audio.sections.length > 0 ? (
          <Stack gap={6}>
            <Title order={3} size="h5">
              Narration (MP3)
            </Title>
            <Group gap="xs">
              {audio.story ? (
                <Button size="xs" variant="default" loading={busy === audio.story.fileName} onClick={() => audio.story && void save('the whole story', audio.story)}>
                  Download whole story ({duration(audio.story.durationSeconds)})
                </Button>
              ) : null}
              {audio.sections.map((s) => (
                <Button key={s.s3Uri} size="xs" variant="default" loading={busy === s.fileName} onClick={() => void save(`section ${s.sectionNum ?? ''}`, s)} aria-label={`Download section ${s.sectionNum ?? ''} (MP3, ${duration(s.durationSeconds)})`}>
                  Section {s.sectionNum}
                </Button>
              ))}
            </Group>
          </Stack>
        ) : null}
        <Text size="sm" role="status" aria-live="polite">
          {status}
        </Text>
        {failure ? (
          <Alert color="red" variant="light" title="The download did not work" role="alert" withCloseButton closeButtonLabel="Dismiss" onClose={() => setFailure(undefined)}>
            <Text size="sm">{failure.message}</Text>
            {failure.url ? (
              <Text size="sm" mt={4}>
                <Anchor href={failure.url} target="_blank" rel="noopener noreferrer">
                  Open {failure.fileName} in a new tab
                </Anchor>{' '}
                and save it from there.
              </Text>
            ) : null}
          </Alert>
        ) : null}
      </Stack>
    </Paper>
  );
}
