/**
 * @module notes/release-config
 * Reads and validates `.github/release.yml` (GitHub's schema: `changelog.exclude.{labels,authors}`
 * and `changelog.categories[]` with `title`, `labels` and an optional `exclude`). Problems are
 * reported as one sentence naming the offending key, so the API can answer 422 with it.
 */
import { parse } from 'yaml';

export interface Exclusions {
  labels: string[];
  authors: string[];
}

export interface Category {
  title: string;
  labels: string[];
  exclude: Exclusions;
}

export interface ReleaseConfig {
  exclude: Exclusions;
  categories: Category[];
}

export class ReleaseConfigError extends Error {}

const EMPTY: Exclusions = { labels: [], authors: [] };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, where: string, required: boolean): string[] {
  if (value === undefined || value === null) {
    if (required) throw new ReleaseConfigError(`${where} is required`);
    return [];
  }
  // A single string is accepted where a list is expected; YAML authors write `labels: bug` too.
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) throw new ReleaseConfigError(`${where} must be a list of strings`);
  return value.map((item, i) => {
    // Numbers and booleans are valid label names once quoted; YAML reads `- 1.0` as a number.
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    throw new ReleaseConfigError(`${where}[${i}] must be a string`);
  });
}

function exclusions(value: unknown, where: string): Exclusions {
  if (value === undefined || value === null) return EMPTY;
  if (!isObject(value)) throw new ReleaseConfigError(`${where} must be a mapping`);
  return { labels: stringList(value.labels, `${where}.labels`, false), authors: stringList(value.authors, `${where}.authors`, false) };
}

/** Parses the file's text; throws ReleaseConfigError with a readable message when it is invalid. */
export function parseReleaseConfig(text: string): ReleaseConfig {
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    throw new ReleaseConfigError(`is not valid YAML: ${first}`);
  }
  // An empty file is GitHub's default configuration.
  if (doc === undefined || doc === null) return { exclude: EMPTY, categories: [] };
  if (!isObject(doc)) throw new ReleaseConfigError('must be a mapping with a "changelog" key');
  const changelog = doc.changelog;
  if (changelog === undefined || changelog === null) return { exclude: EMPTY, categories: [] };
  if (!isObject(changelog)) throw new ReleaseConfigError('changelog must be a mapping');
  const exclude = exclusions(changelog.exclude, 'changelog.exclude');
  const rawCategories = changelog.categories ?? [];
  if (!Array.isArray(rawCategories)) throw new ReleaseConfigError('changelog.categories must be a list');
  const categories = rawCategories.map((raw, i): Category => {
    const where = `changelog.categories[${i}]`;
    if (!isObject(raw)) throw new ReleaseConfigError(`${where} must be a mapping`);
    if (typeof raw.title !== 'string' || raw.title.trim() === '') throw new ReleaseConfigError(`${where}.title is required and must be a string`);
    return { title: raw.title, labels: stringList(raw.labels, `${where}.labels`, true), exclude: exclusions(raw.exclude, `${where}.exclude`) };
  });
  return { exclude, categories };
}
