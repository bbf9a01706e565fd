// Dashboard tokens for the bench, signed as Supabase signs them (HS256, org in app_metadata).
import { dashboardToken } from '../../test/support/jwt';
import { BENCH_JWT_SECRET } from './world';

export async function dashboardHeaders(orgId: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await dashboardToken(BENCH_JWT_SECRET, orgId, { expiresIn: '1h' })}` };
}
