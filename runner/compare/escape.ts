/**
 * Escaping for text and attribute values in HTML and inline SVG. Only the five XML entities are produced,
 * so the output stays well-formed XML as well as valid HTML.
 */
const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  // Control characters other than tab and newlines are not allowed in XML; drop them.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return String(value).replace(/[&<>"']|[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => entities[c] ?? '');
}
