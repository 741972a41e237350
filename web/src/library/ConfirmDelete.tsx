/** "Delete this story?": a confirmation dialog that deletes a job (records, pictures, audio). */
import { ConfirmModal } from '../components/ConfirmModal';
import { useStudio } from '../studio';
import { deleteJob } from './load';

export function ConfirmDelete({ jobId, title, opened, onClose, onDeleted }: { jobId: string; title: string; opened: boolean; onClose: () => void; onDeleted: () => void }) {
  const { clients } = useStudio();
  return (
    <ConfirmModal
      opened={opened}
      title="Delete this story?"
      confirmLabel="Yes, delete"
      danger
      onClose={onClose}
      onConfirm={async () => {
        await deleteJob(clients.api, jobId);
        onDeleted();
      }}
    >
      {`“${title}” will be deleted with its pictures and narration. This cannot be undone.`}
    </ConfirmModal>
  );
}
