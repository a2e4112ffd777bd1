/** A dependency outside our data stores (e.g. the identity provider's JWKS) is unreachable: 503. */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
  constructor(readonly dependency: string) {
    super(`${dependency} is temporarily unavailable`);
  }
}
