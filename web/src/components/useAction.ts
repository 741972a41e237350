/** One user action that calls the API: whether it runs, and what it failed with (shown until the next try). */
import { useCallback, useState } from 'react';

export interface Action {
  busy: boolean;
  error: unknown;
  /** Runs `work`; true when it succeeded (its error is kept for display otherwise). */
  run: (work: () => Promise<void>) => Promise<boolean>;
  clearError: () => void;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = useCallback(async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const clearError = useCallback(() => setError(undefined), []);
  return { busy, error, run, clearError };
}
