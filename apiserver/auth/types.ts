import type { TLSSocket } from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import type { User } from '../strategy/strategy';
import { StatusError } from '../../pkg/apierrors';

/** What authentication may look at: the headers and the TLS connection (client certificate). */
export interface AuthenticationRequest {
  headers: IncomingHttpHeaders;
  /**
   * The headers as received, name and value alternating: node joins repeated headers with ", " in
   * `headers`, which would merge two X-Remote-Group values into one group.
   */
  rawHeaders?: string[];
  socket: TLSSocket;
}

/**
 * One way of recognising a user. Answers undefined when the request does not use this way (so the
 * next one is tried) and throws a StatusError (401) when it does but the credentials are bad.
 */
export interface Authenticator {
  authenticate(req: AuthenticationRequest): Promise<User | undefined>;
}

/**
 * Credentials that were presented and refused. The client only ever sees kube's bare
 * "Unauthorized"; `detail` is for the server's log.
 */
export class CredentialsRejected extends StatusError {
  constructor(readonly detail: string) {
    super(401, 'Unauthorized', 'Unauthorized');
  }
}

/** What a request asks to do, as k8s.io/apiserver's authorizer.Attributes. */
export interface AuthorizationAttributes {
  user: User;
  verb: string;
  resourceRequest: boolean;
  /** For non-resource requests. */
  path: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface Decision {
  allowed: boolean;
  reason?: string;
}

export interface Authorizer {
  authorize(attrs: AuthorizationAttributes): Promise<Decision>;
}
