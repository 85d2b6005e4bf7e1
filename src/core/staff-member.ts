/**
 * The people who run and inspect a node, as the node knows them: by the token they presented. An
 * operator may act (resend, acknowledge an alarm, ask for a purge); an auditor only reads. Party tokens
 * are neither. Every operator action is logged with `name`, so the log says who did what and when.
 */
export type StaffRole = 'operator' | 'auditor';

export interface StaffMember {
  readonly role: StaffRole;
  /** The name the token was given in configuration (or one made from its hash: `operator-1a2b3c4d`). */
  readonly name: string;
}

/** A staff token as configuration holds it: its hash, with the name its holder is logged under. */
export interface StaffTokenEntry {
  readonly name: string;
  /** `sha256:<64 lowercase hex>` of the token. */
  readonly token: string;
}

/**
 * Configuration lists a staff token as its bare hash (the older form) or as `{ name, token }`. A bare
 * hash is named after its role and the first 8 hex digits of the hash: stable, and telling two
 * unnamed tokens apart without revealing anything of the token itself.
 */
export function staffTokenEntries(role: StaffRole, listed: readonly (string | StaffTokenEntry)[]): StaffTokenEntry[] {
  return listed.map((t) =>
    typeof t === 'string'
      ? {
          name: `${role}-${t
            .replace(/^sha256:/i, '')
            .slice(0, 8)
            .toLowerCase()}`,
          token: t,
        }
      : t,
  );
}
