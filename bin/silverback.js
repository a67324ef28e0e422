#!/usr/bin/env node
// The `silverback` command: runs the compiled CLI from dist/, building it first when a source is
// newer than the last build (a fresh checkout, an edit, `npm ci --ignore-scripts`).
import { ensureBuilt } from './build.js';

const main = new URL('../dist/cli/main.js', import.meta.url);
let cli;
try {
  ensureBuilt();
  cli = await import(main.href);
} catch (err) {
  process.stderr.write(`Error: cannot load Silverback from dist/: ${err.message.split('\n')[0]} (run \`npm ci\`, then \`npm run build\`)\n`);
  process.exit(1);
}
await cli.runCli(process.argv);
