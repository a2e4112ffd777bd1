/** Binds an OAuth flow to the browser that started it; scoped to the connect routes only. */
export const OAUTH_BINDING_COOKIE = 'compass_stripe_oauth';
export const OAUTH_BINDING_COOKIE_PATH = '/api/connect/stripe';
