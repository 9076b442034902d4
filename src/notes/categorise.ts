/**
 * @module notes/categorise
 * GitHub's assignment rules for `release.yml`: a change matching the top-level exclusions is left
 * out entirely; otherwise it goes to the first category (in file order) whose `labels` it carries
 * (`*` matches any change) and whose own `exclude` does not reject it. Without categories every
 * change is listed in one untitled section; with categories, a change no category takes is not
 * shown, as GitHub documents.
 */
import type { Exclusions, ReleaseConfig } from './release-config.ts';

export interface Author {
  /** Wharf login when the commit e-mail belongs to a user, else null. */
  login: string | null;
  name: string;
  email: string;
}

export interface NoteChange {
  sha: string;
  title: string;
  labels: string[];
  author: Author;
}

export interface Section {
  /** null for the single untitled section used when no categories are configured. */
  title: string | null;
  changes: NoteChange[];
}

/** `exclude.authors` names logins; for authors who are not Wharf users it matches their name or e-mail. */
function authorListed(list: string[], author: Author): boolean {
  if (list.length === 0) return false;
  const names = new Set(list.map((a) => a.toLowerCase()));
  return (author.login !== null && names.has(author.login.toLowerCase())) || names.has(author.name.toLowerCase()) || names.has(author.email.toLowerCase());
}

function hasAnyLabel(list: string[], change: NoteChange): boolean {
  return list.some((label) => label === '*' || change.labels.includes(label.toLowerCase()));
}

function excludedBy(exclude: Exclusions, change: NoteChange): boolean {
  return exclude.labels.some((label) => change.labels.includes(label.toLowerCase())) || authorListed(exclude.authors, change.author);
}

/** The changes that survive the top-level exclusions. */
export function includedChanges(config: ReleaseConfig, changes: NoteChange[]): NoteChange[] {
  return changes.filter((change) => !excludedBy(config.exclude, change));
}

/** Sections in file order, empty ones omitted; `changes` must already be filtered by includedChanges. */
export function categorise(config: ReleaseConfig, changes: NoteChange[]): Section[] {
  if (config.categories.length === 0) return changes.length > 0 ? [{ title: null, changes }] : [];
  const sections: Section[] = config.categories.map((c) => ({ title: c.title, changes: [] }));
  for (const change of changes) {
    const index = config.categories.findIndex((c) => hasAnyLabel(c.labels, change) && !excludedBy(c.exclude, change));
    if (index >= 0) sections[index]!.changes.push(change);
  }
  return sections.filter((s) => s.changes.length > 0);
}
