import { EnvelopeError } from '../../src/core/errors.js';
import type { AddressingHeader } from './modi-header.js';
import { NS } from '../xml/namespaces.js';
import { childElements, isElement, textOf } from '../xml/dom-navigation.js';
import { escapeText as x } from '../xml/xml-escape.js';

/** The WS-Addressing header blocks ModI uses, by local name; From and ReplyTo wrap an Address. */
const WSA_BLOCKS = ['To', 'From', 'Action', 'MessageID', 'RelatesTo', 'ReplyTo', 'FaultTo'] as const;
type WsaBlock = (typeof WSA_BLOCKS)[number];
const WRAPS_ADDRESS: ReadonlySet<WsaBlock> = new Set(['From', 'ReplyTo', 'FaultTo']);

export function isAddressingBlock(el: Element): boolean {
  return el.namespaceURI === NS.wsa && (WSA_BLOCKS as readonly string[]).includes(el.localName ?? '');
}

/** Reads the wsa:* header blocks (direct children of soap:Header), refusing a repeated one. */
export function readAddressing(headerBlocks: readonly Element[]): { header: AddressingHeader; blocks: Element[] } {
  const seen = new Map<string, Element>();
  for (const el of headerBlocks) {
    if (!isAddressingBlock(el)) continue;
    if (seen.has(el.localName!))
      throw new EnvelopeError('EGOV_IT_002', `Header/${el.localName}`, `EGOV_IT_002 - wsa:${el.localName} appears more than once`);
    seen.set(el.localName!, el);
  }
  const value = (name: WsaBlock): string | undefined => {
    const el = seen.get(name);
    if (!el) return undefined;
    if (!WRAPS_ADDRESS.has(name)) return textOf(el);
    const address = childElements(el).find((c) => isElement(c, NS.wsa, 'Address'));
    if (!address) throw new EnvelopeError('EGOV_IT_002', `Header/${name}/Address`, `EGOV_IT_002 - wsa:${name} without wsa:Address`);
    return textOf(address);
  };
  const header: AddressingHeader = {
    ...opt('to', value('To')),
    ...opt('from', value('From')),
    ...opt('action', value('Action')),
    ...opt('messageId', value('MessageID')),
    ...opt('relatesTo', value('RelatesTo')),
    ...opt('replyTo', value('ReplyTo')),
  };
  return { header, blocks: [...seen.values()] };
}

function opt<K extends string>(key: K, v: string | undefined): { [P in K]?: string } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: string };
}

/** Writes wsa:* header blocks, each declaring its namespace so it can be signed on its own. */
export function writeAddressing(h: AddressingHeader): string {
  const el = (name: string, inner: string) => `<wsa:${name} xmlns:wsa="${NS.wsa}">${inner}</wsa:${name}>`;
  const out: string[] = [];
  if (h.to !== undefined) out.push(el('To', x(h.to)));
  if (h.from !== undefined) out.push(el('From', `<wsa:Address>${x(h.from)}</wsa:Address>`));
  if (h.action !== undefined) out.push(el('Action', x(h.action)));
  if (h.messageId !== undefined) out.push(el('MessageID', x(h.messageId)));
  if (h.relatesTo !== undefined) out.push(el('RelatesTo', x(h.relatesTo)));
  if (h.replyTo !== undefined) out.push(el('ReplyTo', `<wsa:Address>${x(h.replyTo)}</wsa:Address>`));
  return out.join('');
}
