/**
 * @module services/asset-names
 * GitHub's rewriting of uploaded file names. GitHub does not publish its rule; this follows the
 * imitation the GitHub CLI ships to predict the server (so `gh release upload --clobber` finds the
 * renamed asset), plus the transliterations GitHub is observed to apply:
 *
 * 1. letters with diacritics lose them, a few Latin letters are transliterated (`æ` → `ae`);
 * 2. a name starting with `.` gets the prefix `default`;
 * 3. every run of characters outside `A-Z a-z 0-9 - _ + @` becomes one `.`;
 * 4. runs of dots collapse, leading and trailing dots go;
 * 5. if the name changed and no extension separator is left, `default.` is prefixed.
 *
 * The result only contains `[A-Za-z0-9._+@-]`, never starts with a dot and never contains `..`
 * or `/`, so it cannot name a directory or escape one.
 */

/** Letters that NFD does not decompose but GitHub transliterates. */
const TRANSLITERATIONS: Record<string, string> = {
  æ: 'ae',
  Æ: 'AE',
  ø: 'o',
  Ø: 'O',
  ß: 'ss',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'TH',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  œ: 'oe',
  Œ: 'OE',
  ŋ: 'ng',
  Ŋ: 'NG',
  ı: 'i',
  ħ: 'h',
  Ħ: 'H',
};

/** The longest name Wharf stores (file systems commonly allow 255 bytes). */
export const MAX_ASSET_NAME_LENGTH = 255;

function removeDiacritics(value: string): string {
  const decomposed = value
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '')
    .normalize('NFC');
  return decomposed.replace(/[\x80-\uffff]/g, (ch) => TRANSLITERATIONS[ch] ?? ch);
}

export function sanitizeAssetName(name: string): string {
  let value = removeDiacritics(name);
  if (value.startsWith('.')) value = `default${value}`;
  value = value.replace(/[^A-Za-z0-9\-_+@]+/g, '.');
  value = value.replace(/\.{2,}/g, '.');
  value = value.replace(/^\.+|\.+$/g, '');
  if (value === '') return 'default';
  if (name !== value && !value.includes('.')) value = `default.${value}`;
  return value;
}

/**
 * An asset label as stored: control characters (NUL, CR/LF and the rest of C0 and C1, DEL) and
 * the bidirectional overrides, embeddings and isolates (U+202A–U+202E, U+2066–U+2069) removed,
 * as GitHub strips them. A label is shown on pages and in clients next to the file name; an RTL
 * override could make `exe.txt` read as `txt.exe`, a line break could forge a second line.
 */
export function sanitizeAssetLabel(label: string): string {
  // eslint-disable-next-line no-control-regex
  return label.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '');
}
