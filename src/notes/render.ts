/**
 * @module notes/render
 * Markdown in GitHub's generated-notes format:
 *
 *     <!-- Release notes generated using configuration in .github/release.yml at main -->
 *
 *     ## What's Changed
 *     ### Features
 *     * feat: add x by @alice in {web}/{owner}/{repo}/commit/{sha}
 *
 *     ## New Contributors
 *     * @alice made their first contribution in {web}/{owner}/{repo}/commit/{sha}
 *
 *     **Full Changelog**: {web}/{owner}/{repo}/compare/v1.0.0...v1.1.0
 *
 * The comment appears only when a configuration file was used, `### ` headings only when it has
 * categories. Notes longer than the limit (GitHub's 125 000-character release body) keep their
 * first entries, end with a note saying how many were left out, and keep the changelog link.
 */
import type { Author, NoteChange, Section } from './categorise.ts';

/** GitHub refuses release bodies longer than this, so generated notes never exceed it. */
export const MAX_NOTES_LENGTH = 125_000;

export interface NotesDocument {
  /** `{web}/{owner}/{repo}`, the prefix of every link. */
  repoUrl: string;
  /** Set when a configuration file was used: its path and the ref it was read at. */
  configuration: { path: string; ref: string } | null;
  sections: Section[];
  newContributors: NoteChange[];
  /** The compare link, or the commit list when there is no previous tag. */
  fullChangelogUrl: string;
}

export function authorMention(author: Author): string {
  return author.login !== null ? `@${author.login}` : author.name || author.email;
}

function changeLine(repoUrl: string, change: NoteChange): string {
  return `* ${change.title} by ${authorMention(change.author)} in ${repoUrl}/commit/${change.sha}`;
}

function contributorLine(repoUrl: string, change: NoteChange): string {
  return `* ${authorMention(change.author)} made their first contribution in ${repoUrl}/commit/${change.sha}`;
}

function countEntries(doc: NotesDocument): number {
  return doc.sections.reduce((n, s) => n + s.changes.length, 0) + doc.newContributors.length;
}

/** Renders with only the first `keep` entries (changes first, then new contributors). */
function renderKeeping(doc: NotesDocument, keep: number): string {
  const blocks: string[] = [];
  if (doc.configuration) blocks.push(`<!-- Release notes generated using configuration in ${doc.configuration.path} at ${doc.configuration.ref} -->`);
  let budget = keep;
  const sectionBlocks: string[] = [];
  for (const section of doc.sections) {
    const lines = section.changes.slice(0, Math.max(0, budget)).map((c) => changeLine(doc.repoUrl, c));
    budget -= lines.length;
    if (lines.length === 0) continue;
    sectionBlocks.push((section.title !== null ? `### ${section.title}\n` : '') + lines.join('\n'));
  }
  if (sectionBlocks.length > 0) blocks.push(`## What's Changed\n${sectionBlocks.join('\n\n')}`);
  const contributors = doc.newContributors.slice(0, Math.max(0, budget)).map((c) => contributorLine(doc.repoUrl, c));
  if (contributors.length > 0) blocks.push(`## New Contributors\n${contributors.join('\n')}`);
  const omitted = countEntries(doc) - keep;
  if (omitted > 0) {
    blocks.push(`> [!NOTE]\n> These notes were truncated: ${omitted} more ${omitted === 1 ? 'entry is' : 'entries are'} not shown. The full changelog lists every change.`);
  }
  blocks.push(`**Full Changelog**: ${doc.fullChangelogUrl}`);
  return blocks.join('\n\n');
}

/** The notes body, cut to at most `limit` characters by dropping trailing entries. */
export function renderNotes(doc: NotesDocument, limit = MAX_NOTES_LENGTH): string {
  const total = countEntries(doc);
  const full = renderKeeping(doc, total);
  if (full.length <= limit) return full;
  // Longest prefix of entries that fits: the length grows with `keep`, so bisect.
  let low = 0;
  let high = total - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (renderKeeping(doc, mid).length <= limit) low = mid;
    else high = mid - 1;
  }
  return renderKeeping(doc, low);
}
