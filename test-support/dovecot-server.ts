/**
 * The tests' Dovecot: the launcher moved to src/pec-provider/dovecot-launcher.ts so that
 * `tramite pec-provider` (compiled CLI) can start the same server; tests keep importing it from here.
 */
export * from '../src/pec-provider/dovecot-launcher.js';
