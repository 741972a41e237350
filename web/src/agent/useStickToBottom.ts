/**
 * Polite auto-scroll: when new content arrives, the window follows it only if the reader was
 * at the bottom of the page as it was before (within a few lines); a reader who scrolled up to
 * read stays where they are until they come back down.
 */
import { useCallback, useEffect, useRef } from 'react';

const SLACK_PX = 96;

const maxScroll = () => Math.max(0, document.documentElement.scrollHeight - window.innerHeight);

export function useStickToBottom(): { follow: () => void; stick: () => void } {
  /** The bottom as it was the last time we looked. */
  const bottom = useRef(0);
  useEffect(() => {
    bottom.current = maxScroll();
    const onResize = () => {
      bottom.current = maxScroll();
    };
    window.addEventListener('resize', onResize, { passive: true });
    return () => window.removeEventListener('resize', onResize);
  }, []);
  /** After new content: keep the bottom in view, if the reader was there. */
  const follow = useCallback(() => {
    const wasAtBottom = window.scrollY >= bottom.current - SLACK_PX;
    const max = maxScroll();
    if (wasAtBottom && max > window.scrollY) window.scrollTo({ top: max });
    bottom.current = max;
  }, []);
  /** The reader acted (sent a message): go to the bottom and follow from there. */
  const stick = useCallback(() => {
    bottom.current = maxScroll();
    window.scrollTo({ top: bottom.current });
  }, []);
  return { follow, stick };
}
