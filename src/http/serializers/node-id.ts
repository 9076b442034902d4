/**
 * @module http/serializers/node-id
 * GitHub's legacy global node ids: base64 of `0<length of type>:<Type><id>`
 * (`MDQ6VXNlcjE=` is `04:User1`). Opaque to clients, stable, and decodable for GraphQL `node()`.
 */
export type NodeType = 'User' | 'Organization' | 'Repository' | 'Release' | 'ReleaseAsset' | 'Ref' | 'Tag' | 'Commit' | 'Reaction';

export function nodeId(type: NodeType, id: number | string): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString('base64');
}

export function parseNodeId(value: string): { type: string; id: string } | null {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const m = /^0(\d+):([A-Za-z]+?)(.+)$/.exec(decoded);
  if (!m) return null;
  const len = Number(m[1]);
  const type = decoded.slice(decoded.indexOf(':') + 1, decoded.indexOf(':') + 1 + len);
  const id = decoded.slice(decoded.indexOf(':') + 1 + len);
  return type.length === len && id ? { type, id } : null;
}
