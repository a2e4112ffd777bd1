/** The tenant a request acts for, always taken from a verified Compass session. */
export interface TenantIdentity {
  readonly tenantId: string;
  readonly tenantSlug: string;
  readonly userId: string;
}

/** Slugs appear in webhook URLs, so they are lower-case DNS-label-like words (README "Routes"). */
export const TENANT_SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Tenant ids end up in Secrets Manager names and DynamoDB keys, so only characters that are
 * safe in both are accepted (cuid, uuid and similar ids all fit).
 */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
