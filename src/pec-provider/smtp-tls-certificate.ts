/**
 * The certificate the simulator's SMTP submission port offers with STARTTLS: self-signed, for
 * `localhost` and 127.0.0.1 (subjectAltName, so a client connecting to the IP can check the name),
 * server authentication only. A client trusts it by taking its PEM as the CA.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { PemPair } from '../crypto/dev-pki.js';

const HOUR_MS = 60 * 60 * 1000;
const VALIDITY_DAYS = 365;

export function selfSignedSmtpCertificate(now: Date = new Date()): PemPair {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f || 0x01; // a positive INTEGER in minimal DER
  cert.serialNumber = serial.toString('hex');
  // Started an hour early: a client whose clock is a little behind still accepts it.
  cert.validity.notBefore = new Date(now.getTime() - HOUR_MS);
  cert.validity.notAfter = new Date(now.getTime() + VALIDITY_DAYS * 24 * HOUR_MS);
  const name = [
    { shortName: 'O', value: 'Tramite PEC provider simulator' },
    { shortName: 'CN', value: 'localhost' },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
      ],
    },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n') };
}
