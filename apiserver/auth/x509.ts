import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { User } from '../strategy/strategy';
import { CredentialsRejected, type AuthenticationRequest, type Authenticator } from './types';

/** The client certificate of a connection: the leaf, what else the client sent, and its subject. */
export interface PeerCertificate {
  leaf: X509Certificate;
  /** Certificates the client sent besides the leaf: candidate intermediates, never trusted as roots. */
  presented: X509Certificate[];
  commonName: string;
  organizations: string[];
}

const clientAuthOID = '1.3.6.1.5.5.7.3.2';
const anyExtendedKeyUsageOID = '2.5.29.37.0';
const maxIntermediates = 4;

// the certificate of a connection never changes: parse it once per connection, not per request
const peers = new WeakMap<TLSSocket, PeerCertificate | null>();

const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** The certificate the client presented on this connection; undefined when it presented none. */
export function peerCertificate(socket: TLSSocket): PeerCertificate | undefined {
  const known = peers.get(socket);
  if (known !== undefined) return known ?? undefined;
  let peer: PeerCertificate | null = null;
  const detailed =
    typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(true) : undefined;
  if (detailed?.raw) {
    const presented: X509Certificate[] = [];
    const seen = new Set<DetailedPeerCertificate>([detailed]);
    for (let c = detailed.issuerCertificate; c?.raw && !seen.has(c); c = c.issuerCertificate) {
      seen.add(c);
      presented.push(new X509Certificate(c.raw));
    }
    const subject = detailed.subject as unknown as Record<string, string | string[] | undefined>;
    peer = {
      leaf: new X509Certificate(detailed.raw),
      presented,
      commonName: asList(subject?.CN)[0] ?? '',
      organizations: asList(subject?.O),
    };
  }
  peers.set(socket, peer);
  return peer ?? undefined;
}

/** PEM bundle → certificates; throws on a bundle with none (a wrong file is a start-up error). */
export function parseCertificates(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${what}: no PEM certificate found`);
  return blocks.map((b) => new X509Certificate(b));
}

function withinValidity(c: X509Certificate, now: number): boolean {
  return Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
}

/**
 * Verifies client certificates against a CA bundle as Go's x509 Verify does for kube: a chain from
 * the leaf to one of the CAs, through intermediates the client sent if need be, every link
 * signature-checked and within its validity, and the leaf usable for client authentication.
 */
export class ClientCertVerifier {
  private readonly roots: X509Certificate[];
  private readonly verified = new WeakMap<X509Certificate, string | null>();

  constructor(caBundlePem: string, what: string) {
    this.roots = parseCertificates(caBundlePem, what);
  }

  /** Undefined when the certificate is trusted, otherwise why not. */
  verify(peer: PeerCertificate): string | undefined {
    // one answer per certificate object (so per connection); expiry is re-checked every time
    const now = Date.now();
    let error = this.verified.get(peer.leaf);
    if (error === undefined) {
      error = this.check(peer, now) ?? null;
      this.verified.set(peer.leaf, error);
    }
    if (error === null && !withinValidity(peer.leaf, now))
      error = 'x509: certificate has expired or is not yet valid';
    return error ?? undefined;
  }

  private check(peer: PeerCertificate, now: number): string | undefined {
    const { leaf } = peer;
    const name = `certificate SN=${leaf.serialNumber}, subject "${leaf.subject.replace(/\n/g, ', ')}"`;
    if (!withinValidity(leaf, now))
      return `verifying ${name} failed: x509: certificate has expired or is not yet valid`;
    const usages = leaf.keyUsage;
    if (
      usages &&
      usages.length > 0 &&
      !usages.includes(clientAuthOID) &&
      !usages.includes(anyExtendedKeyUsageOID)
    ) {
      return `verifying ${name} failed: x509: certificate specifies an incompatible key usage`;
    }
    if (!this.chains(leaf, peer.presented, now, 0)) {
      return `verifying ${name} failed: x509: certificate signed by unknown authority`;
    }
    return undefined;
  }

  private chains(cert: X509Certificate, presented: X509Certificate[], now: number, depth: number): boolean {
    for (const root of this.roots) {
      if (root.raw.equals(cert.raw)) return withinValidity(root, now);
      if (cert.checkIssued(root) && withinValidity(root, now) && cert.verify(root.publicKey)) return true;
    }
    if (depth >= maxIntermediates) return false;
    return presented.some(
      (mid) =>
        mid !== cert &&
        mid.ca &&
        cert.checkIssued(mid) &&
        withinValidity(mid, now) &&
        cert.verify(mid.publicKey) &&
        this.chains(mid, presented, now, depth + 1),
    );
  }
}

/**
 * --client-ca-file: a client certificate that verifies against the bundle is the user named by its
 * CN, in the groups named by its O attributes.
 */
export class X509Authenticator implements Authenticator {
  private readonly verifier: ClientCertVerifier;

  constructor(caBundlePem: string) {
    this.verifier = new ClientCertVerifier(caBundlePem, 'client CA');
  }

  async authenticate(req: AuthenticationRequest): Promise<User | undefined> {
    const peer = peerCertificate(req.socket);
    if (!peer) return undefined;
    const error = this.verifier.verify(peer);
    if (error) throw new CredentialsRejected(error);
    // kube: a certificate without a CN names nobody, it is not an error
    if (!peer.commonName) return undefined;
    return { username: peer.commonName, groups: [...peer.organizations] };
  }
}
