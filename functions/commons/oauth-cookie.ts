/**
 * Binds an OAuth flow to the browser that started it. With https the `__Host-` prefix makes
 * browsers refuse the cookie from sibling subdomains (it must be Secure, host-only, Path=/);
 * plain http on localhost cannot use the prefix.
 */
export function oauthBindingCookie(secure: boolean): { name: string; path: string } {
  return secure
    ? { name: '__Host-compass_stripe_oauth', path: '/' }
    : { name: 'compass_stripe_oauth', path: '/' };
}
