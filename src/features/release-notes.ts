/**
 * @module features/release-notes
 * Generated release notes (`POST …/releases/generate-notes`); nothing stored, no background work.
 */
import type { Feature } from '../features.ts';
import { releaseNotesRoutes } from '../http/routes/release-notes.ts';

export const releaseNotesFeature: Feature = {
  name: 'release-notes',
  api: releaseNotesRoutes,
};
