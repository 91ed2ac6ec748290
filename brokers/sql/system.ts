import { execFile, spawn } from 'node:child_process';
import { chown, mkdir, readFile } from 'node:fs/promises';

/**
 * Running the dedicated servers' programs. initdb and mariadbd refuse to run as root, so a broker
 * running as root runs them as the system user the distribution's packages made (postgres,
 * mysql); a broker running as anyone else runs them as itself.
 */

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The user server processes run as: `name` when this process is root, undefined (itself) otherwise. */
export async function serverUser(name: string): Promise<SystemUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const entry = await new Promise<string>((resolve) =>
    execFile('getent', ['passwd', name], (err, stdout) => resolve(err ? '' : stdout.trim())),
  );
  const [user, , uid, gid, , home] = entry.split(':');
  if (user !== name) {
    throw new Error(
      `the broker runs as root and there is no system user "${name}" to run the server as (the server refuses root)`,
    );
  }
  return { name, uid: Number(uid), gid: Number(gid), home };
}

/** A directory owned by the server's user, readable by it alone. */
export async function serverDirectory(dir: string, user: SystemUser | undefined): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!user) return;
  await chown(dir, user.uid, user.gid);
  await run('test', ['-w', dir], { user, cwd: '/' }).catch(() => {
    throw new Error(
      `the system user ${user.name} cannot reach ${dir}: the broker's --data-dir and every directory above it must be open to others (o+x)`,
    );
  });
}

function spawnOptions(user: SystemUser | undefined, cwd: string) {
  return {
    cwd,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: user?.home ?? process.env.HOME ?? cwd,
      LANG: 'C.UTF-8',
    },
  };
}

/** Runs a program to its end; rejects with the end of its output when it fails. */
export function run(
  command: string,
  args: string[],
  o: { user?: SystemUser; cwd: string; signal?: AbortSignal },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...spawnOptions(o.user, o.cwd),
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: o.signal,
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      // the end is what says why it failed
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (e) =>
      reject(
        (e as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error(`${command} is not installed (or not on PATH)`)
          : e,
      ),
    );
    child.once('close', (code, signal) => {
      if (code === 0) resolve(output);
      else
        reject(
          new Error(`${command} failed (${signal ?? `exit ${code}`}): ${lastLines(output) || 'no output'}`),
        );
    });
  });
}

/** Starts a long-running program in a process group of its own, so that it outlives the broker. */
export function runDetached(
  command: string,
  args: string[],
  o: { user?: SystemUser; cwd: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...spawnOptions(o.user, o.cwd), stdio: 'ignore', detached: true });
    child.once('error', (e) =>
      reject(
        (e as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error(`${command} is not installed (or not on PATH)`)
          : e,
      ),
    );
    child.once('spawn', () => {
      child.unref();
      resolve(child.pid!);
    });
  });
}

/** Whether a process with this pid runs this program. */
export async function processRuns(pid: number, program: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.split('\0')[0].endsWith(program);
  } catch {
    return false;
  }
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}
