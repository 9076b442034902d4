/**
 * @module config/settings-doc
 * The settings table of `docs/configuration.md` lives between two markers and is rendered from
 * the settings table in code.
 */
import { settingsMarkdown } from './settings.ts';

export const TABLE_BEGIN = '<!-- settings table: generated from src/config/settings.ts by `npm run docs:config` -->';
export const TABLE_END = '<!-- end of settings table -->';

export function replaceSettingsTable(doc: string): string {
  const begin = doc.indexOf(TABLE_BEGIN);
  const end = doc.indexOf(TABLE_END);
  if (begin < 0 || end < begin) throw new Error('docs/configuration.md has lost its settings table markers');
  return `${doc.slice(0, begin + TABLE_BEGIN.length)}\n${settingsMarkdown()}\n${doc.slice(end)}`;
}
