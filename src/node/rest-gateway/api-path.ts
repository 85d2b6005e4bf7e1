import { ApiError } from '../../core/errors.js';

/**
 * The URL a gateway forwards to: the API's base URL (the provider's `api.url`, or the back office's
 * `upstream.url`) and the caller's path below it. The path may only go down: a dot segment, raw or
 * percent-encoded (`..`, `%2e%2E`), an encoded slash or backslash, or a NUL is refused before anything
 * is signed or sent — HTTP clients collapse dot segments, and a back office that decodes `%2F` would
 * otherwise let a consumer authorised for one API reach any path of its host.
 */
export function urlBelow(base: string, pathAndQuery: string): string {
  const q = pathAndQuery.indexOf('?');
  const path = q >= 0 ? pathAndQuery.slice(0, q) : pathAndQuery;
  const query = q >= 0 ? pathAndQuery.slice(q) : '';
  const refuse = (why: string): never => {
    throw new ApiError('TRAMITE_ERR_REST_PATH', 400, `the path ${JSON.stringify(path.slice(0, 200))} ${why}`);
  };
  if (path !== '' && !path.startsWith('/')) refuse('does not start with /');
  if (/[\\#]/.test(pathAndQuery) || hasControlCharacter(pathAndQuery) || /%(2f|5c|00)/i.test(path))
    refuse('holds an encoded slash, a backslash or a control character');
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return refuse('is not valid percent-encoding');
    }
    if (decoded === '.' || decoded === '..') refuse('climbs out of the API (a dot segment)');
  }
  const baseUrl = new URL(base);
  const target = new URL(`${base}${path}${query}`);
  const basePath = baseUrl.pathname.replace(/\/+$/, '');
  if (target.origin !== baseUrl.origin || !(target.pathname === basePath || target.pathname.startsWith(`${basePath}/`)))
    refuse(`leaves the API's base ${basePath || '/'}`);
  return target.href;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
