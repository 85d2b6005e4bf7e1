import { verify, X509Certificate } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Checkpoint } from './log-store.js';
import type { Signer } from '../core/signer.js';

/** The statement a checkpoint signs: which node says the chain had this head at this time. */
export function checkpointStatement(cp: Pick<Checkpoint, 'seq' | 'headHash' | 'time' | 'node'>): Buffer {
  return Buffer.from(
    canonicalize({ type: 'tramite-log-checkpoint', version: 1, node: cp.node, seq: cp.seq, headHash: cp.headHash, time: cp.time })!,
    'utf8',
  );
}

/** Any Signer of the node's parties signs checkpoints. */
export type CheckpointSigner = Signer;

/** An ECDSA checkpoint signature is DER, as node:crypto's verify (below) and X.509 tools read it. */
export async function signCheckpoint(
  head: { seq: number; hash: string },
  node: string,
  time: Date,
  signer: CheckpointSigner,
): Promise<Omit<Checkpoint, 'tsaToken'>> {
  const base = { seq: head.seq, headHash: head.hash, time: time.toISOString(), node };
  const signature = await signer.sign(checkpointStatement(base), { ecdsaEncoding: 'der' });
  return { ...base, signerCert: signer.certPem, signature: signature.toString('base64') };
}

/** Checks a checkpoint's own signature with the certificate it carries; trust in that certificate is the caller's call. */
export function checkpointSignatureValid(cp: Checkpoint): boolean {
  try {
    const cert = new X509Certificate(cp.signerCert);
    return verify('sha256', checkpointStatement(cp), cert.publicKey, Buffer.from(cp.signature, 'base64'));
  } catch {
    return false;
  }
}
