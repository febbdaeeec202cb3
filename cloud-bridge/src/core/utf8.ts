/*
 * Providers count some limits in UTF-8 bytes, not characters: WeChat Pay refuses a
 * description of 43 Chinese characters ("字节数 129，大于最大值 127"), as a Chinese character
 * is 3 bytes. Cutting by bytes must not split a character (a broken byte sequence would be
 * refused, or shown as "?").
 */

/** The UTF-8 length of a text. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The text in at most `maxBytes` UTF-8 bytes, cut between characters, ending in `ellipsis` when cut. */
export function truncateUtf8(text: string, maxBytes: number, ellipsis = '…'): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const room = maxBytes - utf8Bytes(ellipsis);
  if (room < 0) return '';
  let out = '';
  let used = 0;
  for (const ch of text) {
    const n = utf8Bytes(ch);
    if (used + n > room) break;
    out += ch;
    used += n;
  }
  return out + ellipsis;
}
