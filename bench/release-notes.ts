/**
 * Times `POST …/releases/generate-notes` over a range of 10,000 first-parent commits (every fifth
 * one a pull-request merge, so 12,000 commits in all, by 50 authors), through a real server on
 * loopback, with and without a categorised `.github/release.yml`. The history is written straight
 * into the bare repository with `git fast-import`.
 *
 *     node --import tsx bench/release-notes.ts [commits]
 */
import { performance } from 'node:perf_hooks';
import { gitDirFor } from '../src/context.ts';
import { runGit } from '../src/git/git.ts';
import { fastImport, historyStream } from '../test/support/fast-history.ts';
import { createRepo, createUser } from '../test/support/fixtures.ts';
import { call } from '../test/support/http.ts';
import { startServer } from '../test/support/server.ts';

const RANGE = Number(process.argv[2] ?? 10_000);
const RUNS = 5;
const CONFIG = `changelog:
  exclude:
    labels: [docs]
  categories:
    - title: Breaking Changes
      labels: [breaking]
    - title: Features
      labels: [feat]
    - title: Fixes
      labels: [fix]
    - title: Other Changes
      labels: ["*"]
      exclude:
        labels: [deps]
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const server = await startServer();
try {
  const owner = await createUser(server, 'bench');
  const repo = await createRepo(server, owner);
  const row = await server.wharf.ctx.db.selectFrom('repositories').selectAll().where('name', '=', repo.name).executeTakeFirstOrThrow();
  const gitDir = gitDirFor(server.wharf.ctx, row);

  let t = performance.now();
  await fastImport(gitDir, historyStream({ commits: RANGE + 1, authors: 50, mergeEvery: 5, initialFiles: { '.github/notes.yml': CONFIG } }));
  await runGit(gitDir, ['update-ref', 'refs/tags/v1.0.0', `main~${RANGE}`]);
  await runGit(gitDir, ['update-ref', 'refs/tags/v2.0.0', 'main']);
  const total = (await runGit(gitDir, ['rev-list', '--count', 'v1.0.0..v2.0.0'])).stdout.toString().trim();
  console.log(`history: ${RANGE} first-parent commits in range (${total} commits in all) built in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Warm-up (JIT, first database queries) on a short range, validated against GitHub's schema once.
  const warm = await call('POST', `${server.api}/repos/bench/${repo.name}/releases/generate-notes`, {
    token: owner.token,
    body: { tag_name: 'v2.0.0', previous_tag_name: 'v2.0.0' },
  });
  if (warm.status !== 200) throw new Error(`${warm.status} ${warm.text}`);

  for (const [label, extra] of [
    ['default format', {}],
    ['categorised release.yml', { configuration_file_path: '.github/notes.yml' }],
  ] as const) {
    const times: number[] = [];
    let length = 0;
    let truncated = '';
    for (let i = 0; i < RUNS; i++) {
      t = performance.now();
      const res = await call('POST', `${server.api}/repos/bench/${repo.name}/releases/generate-notes`, {
        token: owner.token,
        body: { tag_name: 'v2.0.0', previous_tag_name: 'v1.0.0', ...extra },
        // Timed without the test suite's OpenAPI validation of the response.
        skipSchema: true,
      });
      times.push(performance.now() - t);
      if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
      length = res.body.body.length;
      truncated = /These notes were truncated: (\d+) more/.exec(res.body.body)?.[1] ?? '0';
    }
    console.log(
      `${label}: median ${median(times).toFixed(0)} ms, min ${Math.min(...times).toFixed(0)} ms over ${RUNS} runs; body ${length} characters, ${truncated} entries cut by truncation`,
    );
  }
} finally {
  await server.close();
}
