/** The studio's shared pieces, given to every page: settings, the signed-in user, the API. */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Api } from './api/client';
import type { Auth, Identity } from './auth';
import type { StudioConfig } from './config';

export interface Studio {
  config: StudioConfig;
  auth: Auth;
  clients: Api;
}

export const StudioContext = createContext<Studio | undefined>(undefined);

export function useStudio(): Studio {
  const studio = useContext(StudioContext);
  if (!studio) throw new Error('useStudio outside the studio');
  return studio;
}

/** The signed-in user (re-renders on sign-in, refresh and sign-out). */
export function useIdentity(): Identity | undefined {
  const { auth } = useStudio();
  const token = useSyncExternalStore(
    (cb) => auth.subscribe(cb),
    () => (auth.signedIn ? auth.identity()?.username + '|' + (auth.identity()?.groups.join(',') ?? '') : ''),
  );
  return token ? auth.identity() : undefined;
}

export const isAdmin = (identity: Identity | undefined): boolean => identity?.groups.includes('admin') ?? false;
