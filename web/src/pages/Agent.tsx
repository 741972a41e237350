/** The story agent: the caller's conversations (/agent) and one conversation (/agent/:sessionId). */
import { useParams } from 'react-router';
import { Conversation } from '../agent/Conversation';
import { SessionList } from '../agent/SessionList';

export function AgentPage() {
  const { sessionId } = useParams();
  // Keyed by the session, so another conversation starts fresh (and a running turn stops).
  return sessionId ? <Conversation key={sessionId} sessionId={sessionId} /> : <SessionList />;
}
