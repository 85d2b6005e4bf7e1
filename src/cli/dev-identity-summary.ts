import type { InitNodeReport } from '../config/init-node.js';

/** What the development identity serves, and that its answers are echoes. */
export function describeDevIdentity(dev: NonNullable<InitNodeReport['devIdentity']>): string[] {
  return [
    `Development node: ${dev.consumer} may call ${dev.provider} on ${dev.sincrono} (sincrono) and ${dev.oneway} (oneway, confermaRicezione);`,
    `  ${dev.provider}'s back office is dev-echo, development only: it answers ${dev.sincrono} with the request, echoed in <tramite-dev:Eco>.`,
    '  The curl that sends one: README.md, "The two commands".',
  ];
}
