/**
 * One GraphQL query's database lookups: at most LOOKUPS_AT_ONCE run at a time (a query starts all
 * its resolvers' lookups together, and they would otherwise fill the database pool's line ahead of
 * every other request), and the query is refused once it has used MAX_LOOKUPS.
 */
import { expect, it } from 'vitest';
import { LOOKUPS_AT_ONCE, MAX_LOOKUPS, QueryBudget } from '../../src/graphql/limits.ts';

it('runs a query’s lookups a few at a time, all of them, and refuses past the cap', async () => {
  const budget = new QueryBudget();
  let running = 0;
  let most = 0;
  const lookup = (i: number) =>
    budget.lookup(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      if (i % 7 === 0) throw new Error(`lookup ${i} failed`);
      return i;
    });
  const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => lookup(i)));
  expect(most).toBe(LOOKUPS_AT_ONCE);
  // Failed lookups give their turn back like the others.
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(42);
  expect(running).toBe(0);
  await Promise.all(Array.from({ length: MAX_LOOKUPS - 50 }, () => budget.lookup(async () => 1)));
  await expect(budget.lookup(async () => 1)).rejects.toThrow(/more than 1,000 lookups/);
});

it('refuses lookups and git reads that would start after the query’s time is up, keeping what was read', async () => {
  const budget = new QueryBudget(50);
  expect(await budget.lookup(async () => 'early')).toBe('early');
  expect(await budget.git('ref main', async () => 'sha')).toBe('sha');
  await new Promise((r) => setTimeout(r, 80));
  await expect(budget.lookup(async () => 'late')).rejects.toThrow(/ran longer than 50 ms/);
  // A read made earlier is still answered from what the request already has.
  expect(await budget.git('ref main', async () => 'again')).toBe('sha');
  expect(() => budget.git('ref other', async () => 'late')).toThrow(/ran longer than 50 ms/);
});
