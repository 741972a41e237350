/** Asks before deleting a conversation (its messages and files go with it). */
import { unwrap } from '../api/client';
import { ConfirmModal } from '../components/ConfirmModal';
import { useStudio } from '../studio';

export function DeleteSession({ session, onClose, onDeleted }: { session: { session_id: string; title: string } | undefined; onClose: () => void; onDeleted: (id: string) => void }) {
  const { clients } = useStudio();
  return (
    <ConfirmModal
      opened={session !== undefined}
      title="Delete this conversation?"
      confirmLabel="Delete conversation"
      danger
      onClose={onClose}
      onConfirm={async () => {
        if (!session) return;
        await unwrap(clients.agent.DELETE('/agent/sessions/{session_id}', { params: { path: { session_id: session.session_id } } }));
        onDeleted(session.session_id);
      }}
    >
      {`“${session?.title || 'Untitled conversation'}” will be deleted with its messages and files. The stories it wrote stay in your library.`}
    </ConfirmModal>
  );
}
