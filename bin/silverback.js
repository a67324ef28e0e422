#!/usr/bin/env node
// The `silverback` command: runs the compiled CLI (npm run build writes dist/).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('Error: dist/ is missing: run `npm run build` first\n');
  process.exit(1);
}
const { runCli } = await import(main.href);
await runCli(process.argv);
