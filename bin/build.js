#!/usr/bin/env node
// Compiles the TypeScript sources into dist/ — at install (`prepare`), on `npm run build`, and on
// start only when a source is newer than the last build. Any number of processes may call it at
// once from one checkout: one builds (under a lock) into a fresh folder that replaces dist/ by
// rename, the others wait for it, so nobody ever loads a half-written dist/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const stamp = join(dist, '.build-stamp');
const lockDir = join(root, '.build.lock');
const SOURCES = ['shared', 'control-plane', 'data-plane', 'cli'];
const LOCK_WAIT_MS = 5 * 60_000;

function newestSource() {
  let newest = statSync(join(root, 'tsconfig.json')).mtimeMs;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCES) if (existsSync(join(root, dir))) walk(join(root, dir));
  return newest;
}

/** True when dist/ holds a complete build at least as new as every source. */
export function isBuilt() {
  try {
    return statSync(stamp).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function acquireLock() {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
    } catch {
      /* being written, or being removed */
    }
    let age = 0;
    try {
      age = Date.now() - statSync(lockDir).mtimeMs;
    } catch {
      continue;
    }
    if ((holder > 0 && !alive(holder)) || (holder === 0 && age > 10_000)) {
      rmSync(lockDir, { recursive: true, force: true }); // left by a build that died
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another build holds ${lockDir}; remove it if no build is running`);
    sleep(100);
  }
}

function compile() {
  const started = new Date(); // the stamp's time: a source saved during the build makes the next start rebuild
  const tmp = join(root, `dist.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  let tsc;
  try {
    const require = createRequire(import.meta.url);
    tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  } catch {
    throw new Error('the TypeScript compiler is missing: run `npm ci` (with dev dependencies)');
  }
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', tmp], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`the TypeScript build failed (exit ${result.status ?? result.signal})`);
  }
  writeFileSync(join(tmp, '.build-stamp'), started.toISOString());
  utimesSync(join(tmp, '.build-stamp'), started, started);
  const old = join(root, `dist.old-${process.pid}`);
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(tmp, dist);
  rmSync(old, { recursive: true, force: true });
}

/** Builds dist/ unless it is up to date (or `force`). */
export function ensureBuilt({ force = false } = {}) {
  if (!force && isBuilt()) return;
  acquireLock();
  try {
    if (force || !isBuilt()) compile();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    ensureBuilt({ force: process.argv.includes('--force') });
  } catch (err) {
    process.stderr.write(`Error: ${err.message}\n`);
    process.exit(1);
  }
}
