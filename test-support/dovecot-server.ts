/**
 * The tests' Dovecot: the launcher lives in src/daemons/dovecot/ so that `tramite pec-provider`
 * (compiled CLI) can start the same server; tests keep importing it from here.
 */
export * from '../src/daemons/dovecot/dovecot-server.js';
