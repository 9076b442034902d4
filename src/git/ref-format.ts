/**
 * @module git/ref-format
 * Git's rules for reference names (`git check-ref-format`, without `--normalize` or
 * `--allow-onelevel`), checked in-process: release creation, tag and branch validation ran a git
 * process for this alone. `test/unit/ref-format.test.ts` compares this with git itself on
 * thousands of generated names.
 */

// Control characters, DEL, space and ~ ^ : ? * [ \ (rules 4, 5 and 10 of git-check-ref-format).
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARACTER = /[\x00-\x20\x7f~^:?*[\\]/;

/** Whether `refname` (e.g. `refs/tags/v1.0`) is a valid reference name by git's rules. */
export function isValidRefName(refname: string): boolean {
  if (refname === '@') return false; // rule 9
  if (FORBIDDEN_CHARACTER.test(refname)) return false;
  if (refname.includes('..') || refname.includes('@{')) return false; // rules 3 and 8
  if (refname.endsWith('.')) return false; // rule 7
  const components = refname.split('/');
  if (components.length < 2) return false; // rule 2: at least one slash
  for (const component of components) {
    // Rule 6: no leading, trailing or doubled slash (an empty component); rule 1.
    if (component.length === 0 || component.startsWith('.') || component.endsWith('.lock')) return false;
  }
  return true;
}
