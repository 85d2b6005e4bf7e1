/**
 * The original message as a `breve` delivery receipt carries it: the same header fields and text,
 * with every attachment replaced by its SHA-256 hash — the sender keeps proof of what was delivered
 * without receiving the attachments back.
 *
 * Each attachment becomes a text/plain part named `<filename>.hash` whose content is the lowercase
 * hex SHA-256 of the attachment's decoded bytes (Content-Description names the algorithm and the
 * file), so the sender can check it against what it sent.
 */
import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import MimeNode from 'nodemailer/lib/mime-node';

/** Header fields that describe the MIME body being replaced, so are not carried over. */
const BODY_HEADERS = /^(content-|mime-version$)/i;

export async function breveOriginal(original: Buffer): Promise<Buffer> {
  const parsed = await simpleParser(original, {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    keepCidLinks: true,
  });

  // The header fields go over byte for byte; only the body (and the fields describing it) is rebuilt.
  const header = parsed.headerLines
    .filter(({ key }) => !BODY_HEADERS.test(key))
    .map(({ line }) => `${line.replace(/\r?\n/g, '\r\n')}\r\n`)
    .join('');
  // A root MimeNode would add its own Date and Message-ID: the body is the child of a root never built.
  const body = new MimeNode('multipart/mixed').createChild('multipart/mixed');
  const text = parsed.text ?? '';
  const html = typeof parsed.html === 'string' ? parsed.html : undefined;
  if (html !== undefined) {
    const alternative = body.createChild('multipart/alternative');
    alternative.createChild('text/plain; charset=utf-8').setContent(text);
    alternative.createChild('text/html; charset=utf-8').setContent(html);
  } else {
    body.createChild('text/plain; charset=utf-8').setContent(text);
  }

  parsed.attachments.forEach((attachment, index) => {
    const filename = attachment.filename ?? `allegato-${index + 1}`;
    const hash = body.createChild('text/plain; charset=utf-8', { filename: `${filename}.hash` });
    hash.setHeader('Content-Description', `SHA-256 di ${filename}`);
    hash.setContent(createHash('sha256').update(attachment.content).digest('hex'));
  });
  return Buffer.concat([Buffer.from(`${header}MIME-Version: 1.0\r\n`, 'utf8'), await body.build()]);
}
