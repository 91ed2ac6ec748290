import type { User } from '../strategy/strategy';
import { CredentialsRejected, type AuthenticationRequest, type Authenticator } from './types';
import { ClientCertVerifier, peerCertificate } from './x509';

export interface RequestHeaderConfig {
  /** PEM bundle of the CAs that sign front-proxy client certificates. */
  clientCA: string;
  /** CNs a front proxy may have; empty means any certificate the CA signed. */
  allowedNames: string[];
  usernameHeaders: string[];
  uidHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

/** Every value of the named header, in the order received. */
function values(req: AuthenticationRequest, name: string): string[] {
  if (req.rawHeaders) {
    const out: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i].toLowerCase() === name) out.push(req.rawHeaders[i + 1]);
    }
    return out;
  }
  const v = req.headers[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Header names present on the request (lowercase), from the raw list when there is one. */
function names(req: AuthenticationRequest): string[] {
  if (!req.rawHeaders) return Object.keys(req.headers);
  const out = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) out.add(req.rawHeaders[i].toLowerCase());
  return [...out];
}

function unescapeExtraKey(key: string): string {
  try {
    return decodeURIComponent(key);
  } catch {
    // kube keeps a malformed key as it came rather than dropping it
    return key;
  }
}

/**
 * Front-proxy authentication (the aggregator's X-Remote-User): the identity headers are believed only
 * from a connection whose client certificate chains to the request-header CA and whose CN is allowed.
 * Whatever the outcome, the headers are removed from the request once read, so nothing after
 * authentication can mistake a client's own X-Remote-User for an authenticated identity.
 */
export class RequestHeaderAuthenticator implements Authenticator {
  private readonly verifier: ClientCertVerifier;
  private readonly usernameHeaders: string[];
  private readonly uidHeaders: string[];
  private readonly groupHeaders: string[];
  private readonly extraPrefixes: string[];
  private readonly allowedNames: Set<string>;

  constructor(cfg: RequestHeaderConfig) {
    const lower = (flag: string, list: string[]) =>
      list.map((h) => {
        const t = h.trim().toLowerCase();
        if (!t) throw new Error(`empty value in "--${flag}"`);
        return t;
      });
    this.verifier = new ClientCertVerifier(cfg.clientCA, 'request-header client CA');
    this.usernameHeaders = lower('requestheader-username-headers', cfg.usernameHeaders);
    this.uidHeaders = lower('requestheader-uid-headers', cfg.uidHeaders);
    this.groupHeaders = lower('requestheader-group-headers', cfg.groupHeaders);
    this.extraPrefixes = lower('requestheader-extra-headers-prefix', cfg.extraHeaderPrefixes);
    this.allowedNames = new Set(cfg.allowedNames);
  }

  async authenticate(req: AuthenticationRequest): Promise<User | undefined> {
    const claimed = this.read(req);
    if (!this.trusted(req)) return undefined;
    return claimed;
  }

  /** The identity the headers claim (undefined without a username), removing them from the request. */
  private read(req: AuthenticationRequest): User | undefined {
    const headerNames = names(req);
    const extraHeaders = this.extraPrefixes.flatMap((prefix) =>
      headerNames.filter((h) => h.startsWith(prefix)).map((h) => ({ prefix, header: h })),
    );
    const present = [...this.usernameHeaders, ...this.uidHeaders, ...this.groupHeaders].filter((h) =>
      headerNames.includes(h),
    );
    if (present.length === 0 && extraHeaders.length === 0) return undefined;
    const first = (list: string[]) => {
      for (const h of list) {
        const v = values(req, h).find((x) => x.length > 0);
        if (v !== undefined) return v;
      }
      return '';
    };
    const username = first(this.usernameHeaders);
    const uid = first(this.uidHeaders);
    const groups = this.groupHeaders.flatMap((h) => values(req, h).filter((v) => v.length > 0));
    const extra: Record<string, string[]> = {};
    for (const { prefix, header } of extraHeaders) {
      const key = unescapeExtraKey(header.slice(prefix.length));
      (extra[key] ??= []).push(...values(req, header));
    }
    this.strip(req, [...present, ...extraHeaders.map((e) => e.header)]);
    if (!username) return undefined;
    const user: User = { username, groups };
    if (uid) user.uid = uid;
    if (Object.keys(extra).length > 0) user.extra = extra;
    return user;
  }

  /**
   * Whether the connection is a trusted front proxy. No certificate: false (any headers are the
   * client's own). A certificate that fails: an error, as kube reports it; another authenticator
   * may still recognise the request.
   */
  private trusted(req: AuthenticationRequest): boolean {
    const peer = peerCertificate(req.socket);
    if (!peer) return false;
    const error = this.verifier.verify(peer);
    if (error) throw new CredentialsRejected(`request-header: ${error}`);
    if (this.allowedNames.size > 0 && !this.allowedNames.has(peer.commonName)) {
      throw new CredentialsRejected(
        `request-header: x509: subject with cn=${peer.commonName} is not in the allowed list`,
      );
    }
    return true;
  }

  private strip(req: AuthenticationRequest, headers: string[]): void {
    const drop = new Set(headers);
    for (const h of drop) delete req.headers[h];
    const raw = req.rawHeaders;
    if (!raw) return;
    let w = 0;
    for (let r = 0; r + 1 < raw.length; r += 2) {
      if (drop.has(raw[r].toLowerCase())) continue;
      raw[w++] = raw[r];
      raw[w++] = raw[r + 1];
    }
    raw.length = w;
  }
}
