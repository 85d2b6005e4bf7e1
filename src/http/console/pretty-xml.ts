/** Tags, comments, CDATA sections and processing instructions, kept byte for byte; text between them. */
const TOKENS = /(<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<[^>]+>)/;

/**
 * XML indented for reading, two spaces a level, an element holding only text kept on one line. Each
 * tag is shown exactly as logged (no namespace moved or added): only whitespace between tags changes.
 * For display only: the download gives the signed bytes.
 */
export function prettyXml(xml: string): string {
  const lines: string[] = [];
  let depth = 0;
  /** The last line is an opening tag (perhaps with its text) that a closing tag may still join. */
  let open = false;
  for (const token of xml.split(TOKENS)) {
    if (token.trim() === '') continue;
    if (!token.startsWith('<') || token.startsWith('<![CDATA[')) {
      if (open) lines[lines.length - 1] += token.trim();
      else lines.push('  '.repeat(depth) + token.trim());
      continue;
    }
    if (token.startsWith('</')) {
      depth = Math.max(0, depth - 1);
      if (open) lines[lines.length - 1] += token;
      else lines.push('  '.repeat(depth) + token);
      open = false;
      continue;
    }
    lines.push('  '.repeat(depth) + token);
    const opening = !token.endsWith('/>') && !token.startsWith('<?') && !token.startsWith('<!');
    if (opening) depth += 1;
    open = opening;
  }
  return lines.join('\n');
}
