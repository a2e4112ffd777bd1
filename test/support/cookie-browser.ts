/**
 * A tiny cookie-keeping browser that does not follow redirects on its own: it meets the local
 * stack and the Stripe emulator over real HTTP the way a browser does, without one.
 */
export class CookieBrowser {
  private readonly jar = new Map<string, string>();

  async get(url: string, init: RequestInit = {}): Promise<Response> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair?.indexOf('=') ?? -1;
      if (!pair || index < 0) continue;
      const value = pair.slice(index + 1);
      if (/Max-Age=0/i.test(line)) this.jar.delete(pair.slice(0, index));
      else this.jar.set(pair.slice(0, index), value);
    }
    return response;
  }

  /** Follows redirects across the app and the fake Stripe, returning every location visited. */
  async follow(url: string): Promise<string[]> {
    const visited = [url];
    let next = url;
    for (let hop = 0; hop < 5; hop++) {
      const response = await this.get(next);
      const location = response.headers.get('location');
      if (!location) break;
      next = new URL(location, next).toString();
      visited.push(next);
    }
    return visited;
  }

  async json<T = Record<string, unknown>>(url: string, init: RequestInit = {}): Promise<T> {
    return (await (await this.get(url, init)).json()) as T;
  }
}

/**
 * Signs in at the local stack and connects through the emulator's consent page (its Authorize
 * link), as a person would; answers the last URL the browser landed on.
 */
export async function connectThroughEmulator(
  browser: CookieBrowser,
  stack: { url: string; signInUrl(): string },
): Promise<string> {
  await browser.follow(stack.signInUrl());
  const start = await browser.get(`${stack.url}/api/connect/stripe`);
  const consentUrl = start.headers.get('location') ?? '';
  const page = await (await browser.get(consentUrl)).text();
  const authorize = /id="authorize" href="([^"]+)"/.exec(page)?.[1]?.replaceAll('&#38;', '&') ?? '';
  const visited = await browser.follow(new URL(authorize, consentUrl).toString());
  return visited.at(-1) ?? '';
}

/** Polls the public status route until the backfill is no longer queued or running (30 s at most). */
export async function waitForBackfill(
  browser: CookieBrowser,
  baseUrl: string,
): Promise<{ status: string | null; result: unknown; error: string | null }> {
  type Backfill = { status: string | null; result: unknown; error: string | null };
  let backfill: Backfill | undefined;
  for (let i = 0; i < 300; i++) {
    backfill = (await browser.json<{ backfill: Backfill }>(`${baseUrl}/api/connect/stripe/status`)).backfill;
    if (backfill.status !== 'queued' && backfill.status !== 'running') return backfill;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`backfill still ${backfill?.status} after 30 s`);
}
