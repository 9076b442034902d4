/**
 * @module http/content-disposition
 * `Content-Disposition: attachment` as RFC 6266 §4.3 asks: a `filename` every client reads
 * (printable ASCII, as a token when it is one, else quoted with `"` and `\` replaced) and a
 * `filename*` carrying the exact name in UTF-8 (RFC 8187 percent-encoding, which leaves nothing
 * that could end the parameter). Every attachment Wharf sends is named here, so no caller can
 * break out of the header's syntax with a crafted name.
 */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** RFC 8187 `value-chars`: `encodeURIComponent` leaves `'()*` and `!` unescaped; only `!` is allowed. */
function extValue(name: string): string {
  return encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function attachmentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const filename = TOKEN.test(ascii) ? ascii : `"${ascii}"`;
  // The exact name goes in `filename*` only when the ASCII fallback had to change it.
  return ascii === name ? `attachment; filename=${filename}` : `attachment; filename=${filename}; filename*=UTF-8''${extValue(name)}`;
}
