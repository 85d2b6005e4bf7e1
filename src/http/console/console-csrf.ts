import { createHash, timingSafeEqual } from 'node:crypto';

/** Whether the token a form carried is the session's: compared in constant time (over digests, so lengths match). */
export function csrfTokenMatches(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(presented));
}

/**
 * Whether a POST comes from a page of this very origin: its Origin header (every current browser
 * sends one on a form POST), or failing that its Referer, must name `origin`. A request with
 * neither is refused: the console's own pages always yield one.
 */
export function fromSameOrigin(
  origin: string,
  headers: { readonly origin?: string | undefined; readonly referer?: string | undefined },
): boolean {
  if (headers.origin !== undefined) return headers.origin === origin;
  if (headers.referer === undefined) return false;
  try {
    return new URL(headers.referer).origin === origin;
  } catch {
    return false;
  }
}
