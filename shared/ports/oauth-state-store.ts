/** A pending OAuth authorization, stored under the hash of its state nonce. */
export interface PendingOAuthState {
  /** SHA-256 of the state nonce: a leaked table row cannot be replayed as a state. */
  readonly stateHash: string;
  /** SHA-256 of the browser-binding cookie set when the flow started. */
  readonly browserBindingHash: string;
  readonly tenantId: string;
  readonly tenantSlug: string;
  readonly userId: string;
  /** Epoch seconds; checked on read because DynamoDB TTL deletes late. */
  readonly expiresAt: number;
}

export interface OAuthStateStore {
  save(state: PendingOAuthState): Promise<void>;
  /**
   * Removes and returns the state in one atomic step, so of two concurrent callbacks presenting
   * the same state exactly one gets it. Returns `undefined` when no such state exists.
   */
  consume(stateHash: string): Promise<PendingOAuthState | undefined>;
}
