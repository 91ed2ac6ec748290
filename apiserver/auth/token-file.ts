import { readFileSync } from 'node:fs';
import type { User } from '../strategy/strategy';
import type { TokenAuthenticator } from './bearer';

/** RFC 4180 records as Go's encoding/csv reads them (quoted fields, "" escapes, blank lines skipped). */
function parseCSV(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') {
      quoted = true;
      started = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
      started = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (started || field !== '') records.push([...record, field]);
      record = [];
      field = '';
      started = false;
    } else {
      field += c;
      started = true;
    }
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (started || field !== '') records.push([...record, field]);
  return records;
}

/**
 * --token-auth-file, kube's static token file: CSV lines `token,user,uid[,"group1,group2"]`.
 */
export class TokenFile implements TokenAuthenticator {
  private readonly users = new Map<string, User>();

  constructor(text: string, path = 'token file') {
    let records: string[][];
    try {
      records = parseCSV(text);
    } catch (e) {
      throw new Error(`token file '${path}': ${(e as Error).message}`);
    }
    records.forEach((r, i) => {
      if (r.length < 3) {
        throw new Error(
          `token file '${path}' must have at least 3 columns (token, user name, user uid), found ${r.length} on record ${i + 1}`,
        );
      }
      const [token, username, uid, groups] = r;
      if (!token) return;
      const user: User = { username, groups: groups ? groups.split(',') : [] };
      if (uid) user.uid = uid;
      this.users.set(token, user);
    });
  }

  static fromFile(path: string): TokenFile {
    return new TokenFile(readFileSync(path, 'utf8'), path);
  }

  async authenticateToken(token: string): Promise<User | undefined> {
    const user = this.users.get(token);
    return user && { ...user, groups: [...user.groups] };
  }
}
