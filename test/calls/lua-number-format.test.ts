// Proves the hold scripts' number formatting (n() of shared/calls/includes/number-format.lua)
// prints every number exactly as string.format('%.0f') does, in a real Redis's Lua: whole numbers
// across the range the scripts use (amounts, millisecond timestamps, sums), beyond it, negative
// ones, and fractions (which take the '%.0f' branch). −0 is the one intended difference ("0").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { createRedis, type RedisClient } from '../../shared/redis';
import { TEST_REDIS } from '../support/redis';

// The include as the scripts get it (it includes nothing itself), then n() beside %.0f.
const NUMBER_FORMAT = readFileSync(join(__dirname, '../../shared/calls/includes/number-format.lua'), 'utf8');
const COMPARE = `${NUMBER_FORMAT}
local out = {}
for i = 1, #ARGV do
  local x = tonumber(ARGV[i])
  out[#out + 1] = n(x)
  out[#out + 1] = string.format('%.0f', x)
end
return out`;

describe('the hold scripts print numbers as %.0f does', () => {
  let redis: RedisClient;
  beforeAll(async () => {
    redis = createRedis(TEST_REDIS, 'blocking', 'lua-number-format');
    await redis.ping();
  });
  afterAll(() => redis.disconnect());

  /** [n(x), %.0f of x] for each x, as Redis's Lua prints them. */
  async function both(xs: string[]): Promise<Array<[string, string]>> {
    const out = (await redis.eval(COMPARE, 0, ...xs)) as string[];
    return xs.map((_, i) => [out[2 * i]!, out[2 * i + 1]!]);
  }

  it('agrees on whole numbers, large ones, negative ones and fractions', async () => {
    const numbers = fc.oneof(
      fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
      fc.integer({ min: 1_700_000_000_000, max: 2_100_000_000_000 }), // millisecond timestamps
      fc.maxSafeInteger(),
      fc.double({ min: -1e18, max: 1e18, noNaN: true }),
      fc.double({ min: -1000, max: 1000, noNaN: true }),
      fc.constantFrom(0, 1e15 - 1, 1e15, -(1e15 - 1), -1e15, 0.5, 1.5, 2.5, -2.5, 999_999_999_999_999.5),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(numbers.filter((x) => !Object.is(x, -0)), { minLength: 1, maxLength: 50 }), async (xs) => {
        // %.17g round-trips a double through Lua's tonumber exactly.
        for (const [mine, reference] of await both(xs.map((x) => x.toPrecision(17)))) expect(mine).toBe(reference);
      }),
      { numRuns: 60, seed: 20261201 },
    );
  });

  it('prints the values the scripts write as plain integers, and −0 as 0', async () => {
    expect(await both(['1796101491098', '112', '-5', '0', '-0'])).toEqual([
      ['1796101491098', '1796101491098'],
      ['112', '112'],
      ['-5', '-5'],
      ['0', '0'],
      ['0', '-0'],
    ]);
  });
});
