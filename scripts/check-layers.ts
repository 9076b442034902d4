/**
 * @module scripts/check-layers
 * Checks that `src/` keeps its layering: every import (static, `import type`, re-export and
 * dynamic `import()`) of one of our files is compared with the table below. Run by `npm run lint`;
 * exits 1 and names each offending import when a rule is broken.
 *
 *   node --import tsx scripts/check-layers.ts
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface LayerRule {
  /** A folder (or file) under the repository root; imports inside the same layer are always fine. */
  layer: string;
  /** Folders or files the layer must not import. */
  mayNotImport: string[];
  why: string;
}

/** The layering of `src/`, from the bottom up. docs/architecture.md quotes this table. */
export const LAYER_RULES: LayerRule[] = [
  { layer: 'src/domain', mayNotImport: ['src'], why: 'domain types and errors are the vocabulary of every layer and depend on none' },
  {
    layer: 'src/db',
    mayNotImport: ['src/services', 'src/http', 'src/web', 'src/graphql', 'src/webhooks', 'src/features', 'src/app.ts'],
    why: 'SQL knows rows, not rules or requests',
  },
  {
    layer: 'src/services',
    mayNotImport: ['src/http', 'src/web', 'src/graphql', 'src/webhooks', 'src/features', 'src/app.ts'],
    why: 'rules are shared by REST, pages, GraphQL and webhooks, so they cannot depend on any of them',
  },
  { layer: 'src/http', mayNotImport: ['src/web'], why: 'the REST API does not depend on the pages' },
  {
    layer: 'src/webhooks',
    mayNotImport: ['src/web', 'src/graphql', 'src/features', 'src/app.ts', 'src/git'],
    why: "webhooks sit beside the API (its payloads are the API's JSON): they use services, events and http's shared pieces, and reach git through services like every other caller",
  },
  ...['src/http', 'src/web', 'src/graphql', 'src/webhooks'].map((layer) => ({
    layer,
    mayNotImport: ['src/db/repos'],
    why: 'routes, pages, GraphQL and webhooks only do their protocol: every lookup goes through src/services (db/schema types are fine)',
  })),
];

/**
 * Imports that break a rule today and are being moved; each entry names the file, the import and
 * why it is still there. Remove the entry with the import.
 */
export const TEMPORARY_EXCEPTIONS: Array<{ file: string; imports: string; until: string }> = [
  { file: 'src/webhooks/fan-out.ts', imports: 'src/db/repos/accounts-repo.ts', until: 'the accounts of a payload are read behind services/accounts (accountsWithIds)' },
  { file: 'src/webhooks/fan-out.ts', imports: 'src/db/repos/repositories-repo.ts', until: 'the repository of an event is read behind services/repositories' },
  { file: 'src/webhooks/fan-out.ts', imports: 'src/db/repos/webhooks-repo.ts', until: 'hook lookup and job inserts move to a services/webhooks module' },
  { file: 'src/webhooks/hooks.ts', imports: 'src/db/repos/accounts-repo.ts', until: 'the accounts of a payload are read behind services/accounts (accountsWithIds)' },
  { file: 'src/webhooks/hooks.ts', imports: 'src/db/repos/repositories-repo.ts', until: 'the repository of a hook is read behind services/repositories' },
  { file: 'src/webhooks/hooks.ts', imports: 'src/db/repos/webhooks-repo.ts', until: 'hook settings move to a services/webhooks module' },
  { file: 'src/webhooks/hooks.ts', imports: 'src/git/git.ts', until: 'ping and test payloads read git through services/git-data' },
  { file: 'src/webhooks/payloads.ts', imports: 'src/git/git.ts', until: 'push payloads read commits through services/git-data' },
  { file: 'src/webhooks/delivery.ts', imports: 'src/db/repos/webhooks-repo.ts', until: 'claiming, settling and purging deliveries move to a services/webhooks module' },
];

export interface Violation {
  file: string;
  imports: string;
  rule: LayerRule;
}

function within(file: string, folderOrFile: string): boolean {
  return file === folderOrFile || file.startsWith(`${folderOrFile}/`);
}

/** The rule violations among `imports` (repository-relative paths, POSIX separators). */
export function findViolations(imports: Array<{ file: string; imports: string }>, rules: LayerRule[] = LAYER_RULES): Violation[] {
  const out: Violation[] = [];
  for (const edge of imports) {
    for (const rule of rules) {
      if (!within(edge.file, rule.layer) || within(edge.imports, rule.layer)) continue;
      if (rule.mayNotImport.some((target) => within(edge.imports, target))) out.push({ ...edge, rule });
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|js|mjs)$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** Every relative import of every file under `src/`, resolved to repository-relative paths. */
export function collectImports(root: string): Array<{ file: string; imports: string }> {
  const edges: Array<{ file: string; imports: string }> = [];
  for (const absolute of sourceFiles(path.join(root, 'src'))) {
    const info = ts.preProcessFile(readFileSync(absolute, 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue; // packages and node: built-ins
      const target = path.resolve(path.dirname(absolute), fileName);
      edges.push({ file: toPosix(path.relative(root, absolute)), imports: toPosix(path.relative(root, target)) });
    }
  }
  return edges;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

function main(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const edges = collectImports(root);
  const excepted = (v: Violation) => TEMPORARY_EXCEPTIONS.some((e) => e.file === v.file && e.imports === v.imports);
  const violations = findViolations(edges);
  const broken = violations.filter((v) => !excepted(v));
  const stale = TEMPORARY_EXCEPTIONS.filter((e) => !violations.some((v) => v.file === e.file && v.imports === e.imports));
  for (const v of broken) console.error(`${v.file} imports ${v.imports}: ${v.rule.layer} may not import ${v.rule.mayNotImport.join(', ')} (${v.rule.why})`);
  for (const e of stale) console.error(`scripts/check-layers.ts: the temporary exception for ${e.file} importing ${e.imports} is no longer needed; remove it`);
  if (broken.length > 0 || stale.length > 0) {
    process.exitCode = 1;
    return;
  }
  console.log(`layers: ${edges.length} imports checked against ${LAYER_RULES.length} rules, ${TEMPORARY_EXCEPTIONS.length} temporary exceptions`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
