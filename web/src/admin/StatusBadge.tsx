/** A project's status as a badge (dark enough for AA contrast on its fill). */
import { Badge } from '@mantine/core';

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={status === 'active' ? 'green.9' : 'gray.7'} variant="filled" style={{ flexShrink: 0 }}>
      {status === 'active' ? 'Active' : 'Archived'}
    </Badge>
  );
}
