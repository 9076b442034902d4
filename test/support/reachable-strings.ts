/**
 * Every string reachable from a value through own properties (TypeScript's `private` fields
 * included), array items and Map and Set entries: what a heap dump of a long-lived structure would
 * show. Functions, and fields kept in `#private` slots, are not followed.
 */
export function reachableStrings(root: unknown, limit = 1_000_000): string[] {
  const out: string[] = [];
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      out.push(value);
      continue;
    }
    if (value === null || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    if (seen.size > limit) throw new Error('reachableStrings: too many objects');
    if (value instanceof Map) for (const [k, v] of value) stack.push(k, v);
    else if (value instanceof Set) for (const v of value) stack.push(v);
    else if (ArrayBuffer.isView(value)) out.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1'));
    else for (const key of Reflect.ownKeys(value)) stack.push(typeof key === 'string' ? key : undefined, (value as Record<string | symbol, unknown>)[key]);
  }
  return out;
}
