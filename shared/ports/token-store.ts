import type { StoredToken } from '../domain/integration.ts';

/**
 * Each tenant's OAuth token, in a secret of its own (`{prefix}/stripe/oauth/{tenantId}` when
 * deployed). Nothing that answers unauthenticated requests may read it: the webhook functions
 * get the webhook signing secrets, a separate store, and never this one.
 */
export interface TokenStore {
  /** Creates or replaces the token; one write, no read first. */
  save(tenantId: string, token: StoredToken): Promise<void>;
  get(tenantId: string): Promise<StoredToken | undefined>;
  /** Deletes immediately (no recovery window); deleting what is not there is not an error. */
  delete(tenantId: string): Promise<void>;
}
