/**
 * @module version
 * Wharf's version, from package.json (one directory above both `src/` and the compiled `dist/`).
 */
import { readFileSync } from 'node:fs';

export const WHARF_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
