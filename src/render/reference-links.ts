/**
 * @module render/reference-links
 * Links to this instance's commits and comparisons, written as bare URLs (as generated notes
 * write them), are shown the way GitHub shows them: `585460c` for a commit of the same
 * repository, `owner/repo@585460c` for another one, and `v1.0.0...v1.1.0` for a comparison.
 * Only the link text changes; the link still goes to the full URL. Needs to know which
 * repository the notes belong to and the instance's web address (markdown-it's `env.repo`);
 * without them, links are left as written.
 */
import type MarkdownIt from 'markdown-it';

export interface NotesContext {
  /** The instance's web origin, without a trailing slash (`https://wharf.example.com`). */
  web: string;
  owner: string;
  repo: string;
}

export interface NotesEnv {
  repo?: NotesContext;
  /** Lower-cased logins that exist, so `@login` becomes a link (`render/mentions.ts`). */
  mentions?: ReadonlySet<string>;
}

const COMMIT = /^([^/?#]+)\/([^/?#]+)\/commit\/([0-9a-f]{7,40})$/;
const COMPARE = /^([^/?#]+)\/([^/?#]+)\/compare\/([^?#]+)$/;

function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The short text for a URL of this instance, or null to leave the link as written. */
export function shortReferenceText(url: string, context: NotesContext): string | null {
  if (!url.startsWith(`${context.web}/`)) return null;
  const path = url.slice(context.web.length + 1);
  const commit = COMMIT.exec(path);
  const match = commit ?? COMPARE.exec(path);
  if (!match) return null;
  const [owner, repo, rest] = [decoded(match[1]!), decoded(match[2]!), decoded(match[3]!)];
  if (owner === null || repo === null || rest === null) return null;
  const ref = commit ? rest.slice(0, 7) : rest;
  const sameRepo = owner.toLowerCase() === context.owner.toLowerCase() && repo.toLowerCase() === context.repo.toLowerCase();
  return sameRepo ? ref : `${owner}/${repo}@${ref}`;
}

/** The markdown-it plugin: rewrites the text of autolinked URLs (`https://…`, `<https://…>`). */
export function shortReferenceLinks(md: MarkdownIt): void {
  md.core.ruler.push('wharf_short_reference_links', (state) => {
    const context = (state.env as NotesEnv | undefined)?.repo;
    if (!context) return;
    for (const block of state.tokens) {
      const children = block.type === 'inline' ? block.children : null;
      if (!children) continue;
      for (let i = 0; i + 2 < children.length; i += 1) {
        const [open, text, close] = [children[i]!, children[i + 1]!, children[i + 2]!];
        if (open.type !== 'link_open' || open.info !== 'auto' || text.type !== 'text' || close.type !== 'link_close') continue;
        const short = shortReferenceText(text.content, context);
        if (short === null) continue;
        const code = new state.Token('code_inline', 'code', 0);
        code.content = short;
        code.markup = '`';
        children[i + 1] = code;
      }
    }
  });
}
