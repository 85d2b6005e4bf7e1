/**
 * A PDND voucher is a bearer token, valid for minutes for anyone who holds it: never logged whole
 * (reference §5.6). Its header and claims stay (who, which purpose, which jti), the signature is cut,
 * so the logged text cannot be replayed and still says what was presented.
 */
export function redactBearer(authorization: string): string {
  const m = /^(Bearer\s+)([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/i.exec(authorization.trim());
  return m ? `${m[1]}${m[2]}.${m[3]}.redacted` : 'Bearer redacted';
}
