#!/usr/bin/env bash
# Installs the real servers the integration tests run (PostgreSQL for the shared message log, Redis for
# the delivery queue, the openssl CLI for the RFC 3161 TSA, Dovecot's IMAP server for the PEC mailboxes,
# the xmlsec1 CLI as the independent XML-DSig implementation of the signature differential tests, curl as
# an independent TLS client of the mutual-TLS tests, SoftHSM2 as the PKCS#11 token party keys are tested
# on, OpenSC's pkcs11-tool as the independent PKCS#11 client that checks the keys there are not
# extractable, Prometheus's promtool as the independent check of the metrics and alert rules,
# systemd-analyze (package systemd; no running systemd needed) as the check of packaging/systemd, Chromium
# (driven by playwright-core, with a font for its screenshots) as the real browser of the console tests,
# and HAProxy as the load balancer in front of several node processes in the scale-out fault tests
# (test-support/haproxy-balancer.ts), from Debian's packages, when missing. Runs before `npm test`; as
# root it installs, otherwise it says exactly what to run.
# Dovecot: dovecot-core ships /usr/sbin/dovecot but no IMAP service; dovecot-imapd (which depends on
# dovecot-core) adds /usr/lib/dovecot/imap and imap-login. The tests start their own instance on free
# loopback ports (test-support/dovecot-server.ts); a system dovecot the package may start is not used.
set -euo pipefail
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
command -v curl >/dev/null 2>&1 || need+=(curl)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -e /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
command -v pkcs11-tool >/dev/null 2>&1 || need+=(opensc)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
{ [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/imap-login ]; } || need+=(dovecot-imapd)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "the tests need: ${need[*]} — install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing test services: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
