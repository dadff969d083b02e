// A key token is `vsp_<sk|pk>_<id>_<secret>`; the secret is base64url and may itself contain `_`,
// so it is everything after the third separator (not after the last one).
export function secretOf(token: string): string {
  const parts = token.split('_');
  if (parts.length < 4 || parts[0] !== 'vsp') throw new Error(`not a key token: ${token.slice(0, 8)}…`);
  return parts.slice(3).join('_');
}
