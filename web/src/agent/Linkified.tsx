/** Plain text (line breaks kept) with its web addresses as links that open in a new tab. */
import { Anchor } from '@mantine/core';
import type { ReactNode } from 'react';

const URL_RE = /https?:\/\/[^\s<>"'“”]+/g;

export function Linkified({ text }: { text: string }) {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    // Trailing punctuation (and an unmatched closing bracket) belongs to the sentence.
    for (;;) {
      if (/[.,;:!?\]]$/.test(url)) url = url.slice(0, -1);
      else if (url.endsWith(')') && url.split('(').length < url.split(')').length) url = url.slice(0, -1);
      else break;
    }
    const start = m.index;
    if (start > last) out.push(text.slice(last, start));
    out.push(
      <Anchor key={start} href={url} target="_blank" rel="noopener noreferrer" style={{ overflowWrap: 'anywhere' }}>
        {url}
      </Anchor>,
    );
    last = start + url.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return <>{out}</>;
}
