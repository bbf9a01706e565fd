// Dashboard tokens as Supabase issues them (HS256, org in app_metadata.org_id).
import { SignJWT } from 'jose';

export async function dashboardToken(secret: string, orgId: string | undefined, options: { expiresIn?: string; sub?: string } = {}): Promise<string> {
  const claims: Record<string, unknown> = { role: 'authenticated' };
  if (orgId !== undefined) claims.app_metadata = { org_id: orgId };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub ?? 'user-1')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '10m')
    .sign(new TextEncoder().encode(secret));
}

/** An unsigned token (alg: none), which must always be refused. */
export function unsignedToken(orgId: string): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: 'x', app_metadata: { org_id: orgId }, exp: Math.floor(Date.now() / 1000) + 600 })}.`;
}
