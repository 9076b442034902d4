/**
 * @module render/mentions
 * `@login` in notes becomes a link to that account's page, as on GitHub, but only for accounts
 * that exist: the caller looks the candidates up (`mentionCandidates`, then one query) and
 * passes the logins found (lower-cased) as markdown-it's `env.mentions`. Mentions inside links,
 * inline code and code blocks are left alone, as are e-mail addresses (`a@b.example`).
 */
import type MarkdownIt from 'markdown-it';
import type { NotesEnv } from './reference-links.ts';

/** `@` not preceded by a word character, `@`, `/` or `.` (e-mail addresses, paths), then a login. */
const MENTION = /(^|[^\w@/.`])@([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})(?![\w-])/g;

/** The logins `@`-mentioned in a text (lower-cased, at most `limit`), to look up before rendering. */
export function mentionCandidates(text: string | null, limit = 100): string[] {
  if (!text) return [];
  const found = new Set<string>();
  for (const m of text.matchAll(MENTION)) {
    found.add(m[2]!.toLowerCase());
    if (found.size >= limit) break;
  }
  return [...found];
}

export function mentionLinks(md: MarkdownIt): void {
  md.core.ruler.push('wharf_mentions', (state) => {
    const env = state.env as NotesEnv | undefined;
    const known = env?.mentions;
    const web = env?.repo?.web ?? '';
    if (!known || known.size === 0) return;
    for (const block of state.tokens) {
      const children = block.type === 'inline' ? block.children : null;
      if (!children) continue;
      let inLink = 0;
      const out: typeof children = [];
      for (const token of children) {
        if (token.type === 'link_open') inLink += 1;
        if (token.type === 'link_close') inLink -= 1;
        if (token.type !== 'text' || inLink > 0 || !token.content.includes('@')) {
          out.push(token);
          continue;
        }
        let last = 0;
        const text = token.content;
        for (const m of text.matchAll(MENTION)) {
          const login = m[2]!;
          if (!known.has(login.toLowerCase())) continue;
          const at = m.index + m[1]!.length;
          if (at > last) out.push(Object.assign(new state.Token('text', '', 0), { content: text.slice(last, at) }));
          const open = new state.Token('link_open', 'a', 1);
          open.attrs = [['href', `${web}/${login}`]];
          out.push(open, Object.assign(new state.Token('text', '', 0), { content: `@${login}` }), new state.Token('link_close', 'a', -1));
          last = at + 1 + login.length;
        }
        if (last === 0) out.push(token);
        else if (last < text.length) out.push(Object.assign(new state.Token('text', '', 0), { content: text.slice(last) }));
      }
      block.children = out;
    }
  });
}
