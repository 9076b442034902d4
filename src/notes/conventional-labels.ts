/**
 * @module notes/conventional-labels
 * Commits carry no pull-request labels, so a change's labels are read from its message: the
 * Conventional Commits header (`type(scope)!: subject` gives `type`, `scope` and, with `!`,
 * `breaking`), a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer (`breaking`), and any
 * `Labels: a, b` trailer. Labels are lower-cased so that matching is case-insensitive, as
 * GitHub label names are.
 */

// type, optional (scope), optional !, then ": " — the Conventional Commits 1.0 header.
const HEADER = /^([A-Za-z][\w-]*)(?:\(([^()\r\n]*)\))?(!)?: \S/;
const BREAKING_FOOTER = /^BREAKING[ -]CHANGE: /m;
const LABELS_TRAILER = /^labels:[ \t]*(.*)$/gim;

/** Labels of one change, given the title that stands for it and its full message. */
export function labelsFromMessage(title: string, message: string): string[] {
  const labels = new Set<string>();
  const header = HEADER.exec(title);
  if (header) {
    labels.add(header[1]!.toLowerCase());
    const scope = header[2]?.trim();
    if (scope) for (const part of scope.split(',')) if (part.trim()) labels.add(part.trim().toLowerCase());
    if (header[3]) labels.add('breaking');
  }
  if (BREAKING_FOOTER.test(message)) labels.add('breaking');
  for (const match of message.matchAll(LABELS_TRAILER)) {
    for (const label of match[1]!.split(',')) {
      const trimmed = label.trim().toLowerCase();
      if (trimmed) labels.add(trimmed);
    }
  }
  return [...labels];
}
