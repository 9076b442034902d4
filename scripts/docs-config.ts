/**
 * Rewrites the settings table of docs/configuration.md from src/config/settings.ts
 * (`npm run docs:config`; a test fails while the two differ).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { replaceSettingsTable } from '../src/config/settings-doc.ts';

const file = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(file, replaceSettingsTable(readFileSync(file, 'utf8')));
