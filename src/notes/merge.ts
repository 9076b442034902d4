/**
 * @module notes/merge
 * How `generate_release_notes: true` combines with what the caller gave on create/update, as
 * GitHub does: a given name wins over the generated one, and a given body comes first, followed
 * by a blank line and the generated notes (a blank line so the notes' `##` heading starts its own
 * block in every markdown renderer).
 */
import { MAX_NOTES_LENGTH } from './render.ts';

export const NOTES_SEPARATOR = '\n\n';

export function mergeGeneratedNotes(given: { name?: string | null; body?: string | null }, generated: { name: string; body: string }): { name: string; body: string } {
  return {
    name: given.name ? given.name : generated.name,
    body: given.body ? `${given.body}${NOTES_SEPARATOR}${generated.body}` : generated.body,
  };
}

/** The room left for generated notes after a given body, to pass as `maxLength`. */
export function roomForGeneratedNotes(givenBody: string | null | undefined, limit = MAX_NOTES_LENGTH): number {
  return givenBody ? Math.max(0, limit - givenBody.length - NOTES_SEPARATOR.length) : limit;
}
