/**
 * @module http/serializers/reactions
 * `reaction` (the reaction endpoints) and `reaction-rollup` (the `reactions` member of a release).
 */
import type { Account, ReleaseReaction } from '../../db/schema.ts';
import { ROLLUP_CONTENTS } from '../../services/reactions.ts';
import type { Urls } from '../urls.ts';
import { nodeId } from './node-id.ts';
import { simpleUser } from './users.ts';

export function reactionJson(reaction: ReleaseReaction, accounts: Map<number, Account>, urls: Urls) {
  const user = accounts.get(Number(reaction.user_id));
  return {
    id: reaction.id,
    node_id: nodeId('Reaction', reaction.id),
    user: user ? simpleUser(user, urls) : null,
    content: reaction.content,
    created_at: reaction.created_at,
  };
}

export type ReactionRollup = { url: string; total_count: number } & Record<(typeof ROLLUP_CONTENTS)[number], number>;

/**
 * Always present, with zeros: the schema allows it, and a client reading `reactions.total_count`
 * is least surprised by a member that is always there. `-1` and `confused` stay 0 on releases.
 */
export function reactionRollup(url: string, counts: Map<string, number> | undefined): ReactionRollup {
  const rollup = { url, total_count: 0 } as ReactionRollup;
  for (const content of ROLLUP_CONTENTS) {
    const n = counts?.get(content) ?? 0;
    rollup[content] = n;
    rollup.total_count += n;
  }
  return rollup;
}
