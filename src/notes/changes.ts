/**
 * @module notes/changes
 * Turns the first-parent commits of a range into the changes listed in release notes. A merge
 * stands for the branch it merged: its title is the pull-request title GitHub writes in the
 * merge body ("Merge pull request #12 from …" + blank line + title), or the subject of the
 * merged branch's tip for git's own "Merge branch '…'" messages, and its author is the author of
 * that tip (who wrote the change, not who merged it). Any other commit stands for itself.
 */
import { labelsFromMessage } from './conventional-labels.ts';

export interface CommitLike {
  sha: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  message: string;
}

export interface Change {
  /** The commit the entry links to (the merge itself for merges). */
  sha: string;
  title: string;
  labels: string[];
  authorName: string;
  authorEmail: string;
}

const PULL_REQUEST_MERGE = /^Merge pull request #\d+ from \S+/;
const GIT_MERGE = /^Merge (?:remote-tracking )?(?:branch|branches|tag|commit) /;

function subjectOf(message: string): string {
  return (message.split('\n')[0] ?? '').trim();
}

/** The first non-empty line after the subject, if any. */
function firstBodyLine(message: string): string | null {
  const lines = message.split('\n').slice(1);
  for (const line of lines) if (line.trim()) return line.trim();
  return null;
}

/**
 * `mergedTip` is the second parent of a merge (the tip of the merged branch), when known.
 */
export function changeFromCommit(commit: CommitLike, mergedTip?: CommitLike): Change {
  const subject = subjectOf(commit.message);
  const isMerge = commit.parents.length > 1;
  let title = subject;
  let author = { name: commit.authorName, email: commit.authorEmail };
  let labelSource = commit.message;
  if (isMerge) {
    if (PULL_REQUEST_MERGE.test(subject)) title = firstBodyLine(commit.message) ?? mergedTip?.message.split('\n')[0]?.trim() ?? subject;
    else if (GIT_MERGE.test(subject) && mergedTip) title = subjectOf(mergedTip.message) || subject;
    if (mergedTip) {
      author = { name: mergedTip.authorName, email: mergedTip.authorEmail };
      labelSource = `${commit.message}\n\n${mergedTip.message}`;
    }
  }
  return { sha: commit.sha, title: title || commit.sha.slice(0, 7), labels: labelsFromMessage(title, labelSource), authorName: author.name, authorEmail: author.email };
}
