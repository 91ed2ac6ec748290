import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface ServingCert {
  cert: string;
  key: string;
  /** The CA that signed the serving certificate, for clients' kubeconfig. */
  ca: string;
}

function newKey(): forge.pki.rsa.PrivateKey {
  // node's native keygen is fast; forge only signs
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
}

function certificate(
  subjectCN: string,
  key: forge.pki.rsa.PrivateKey,
  issuer: { cn: string; key: forge.pki.rsa.PrivateKey } | undefined,
  extensions: object[],
  years: number,
  opts: { orgs?: string[]; notBefore?: Date; notAfter?: Date } = {},
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
  cert.validity.notAfter = opts.notAfter ?? new Date(Date.now() + years * 365 * 24 * 3600 * 1000);
  cert.setSubject([
    { name: 'commonName', value: subjectCN },
    ...(opts.orgs ?? []).map((value) => ({ name: 'organizationName', value })),
  ]);
  cert.setIssuer([{ name: 'commonName', value: issuer?.cn ?? subjectCN }]);
  cert.setExtensions(extensions);
  cert.sign(issuer?.key ?? key, forge.md.sha256.create());
  return cert;
}

/**
 * A self-signed CA and a serving certificate it signs, as kube-apiserver makes when given no
 * certificate. SANs cover loopback and the in-cluster service names.
 */
export function generateServingCert(hosts: string[]): ServingCert {
  const caKey = newKey();
  const caCN = `catalog-apiserver-ca-${Math.floor(Date.now() / 1000)}`;
  const ca = certificate(
    caCN,
    caKey,
    undefined,
    [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
    ],
    10,
  );
  const key = newKey();
  const altNames = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7, ip: h } : { type: 2, value: h }));
  const cert = certificate(
    `catalog-apiserver-${Math.floor(Date.now() / 1000)}`,
    key,
    { cn: caCN, key: caKey },
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
    1,
  );
  const caPem = forge.pki.certificateToPem(ca);
  return { cert: forge.pki.certificateToPem(cert) + caPem, key: forge.pki.privateKeyToPem(key), ca: caPem };
}

/** A CA that signs client certificates (kube's client CA or front-proxy CA). */
export interface CertificateAuthority {
  cn: string;
  cert: string;
  key: string;
}

export function generateCA(cn: string): CertificateAuthority {
  const key = newKey();
  const ca = certificate(
    cn,
    key,
    undefined,
    [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, critical: true },
    ],
    10,
  );
  return { cn, cert: forge.pki.certificateToPem(ca), key: forge.pki.privateKeyToPem(key) };
}

/**
 * A client certificate as kube reads it: CN is the user, each O a group. `validity` moves its
 * window (an expired certificate, for tests).
 */
export function generateClientCert(
  ca: CertificateAuthority,
  cn: string,
  orgs: string[] = [],
  validity: { notBefore?: Date; notAfter?: Date } = {},
): { cert: string; key: string } {
  const key = newKey();
  const cert = certificate(
    cn,
    key,
    { cn: ca.cn, key: forge.pki.privateKeyFromPem(ca.key) },
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
    1,
    { orgs, ...validity },
  );
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(key) };
}

/** Reads the certificate in certDir, generating it on first start so restarts keep the same one. */
export function loadOrGenerateServingCert(certDir: string, hosts: string[]): ServingCert {
  const paths = {
    cert: join(certDir, 'apiserver.crt'),
    key: join(certDir, 'apiserver.key'),
    ca: join(certDir, 'ca.crt'),
  };
  if (existsSync(paths.cert) && existsSync(paths.key) && existsSync(paths.ca)) {
    return {
      cert: readFileSync(paths.cert, 'utf8'),
      key: readFileSync(paths.key, 'utf8'),
      ca: readFileSync(paths.ca, 'utf8'),
    };
  }
  const generated = generateServingCert(hosts);
  mkdirSync(certDir, { recursive: true });
  writeFileSync(paths.cert, generated.cert);
  writeFileSync(paths.key, generated.key, { mode: 0o600 });
  writeFileSync(paths.ca, generated.ca);
  return generated;
}
