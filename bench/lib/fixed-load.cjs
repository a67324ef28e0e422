// A fixed number of GETs at a fixed concurrency over keep-alive connections (for bench/instructions.sh,
// where a count, not a duration, makes runs comparable). Usage: node fixed-load.cjs URL N [CONCURRENCY]
'use strict';
const { Pool } = require('undici');

const url = new URL(process.argv[2]);
const total = Number(process.argv[3]);
const concurrency = Number(process.argv[4] || 50);
const pool = new Pool(url.origin, { connections: concurrency, pipelining: 1 });
let sent = 0;
let failed = 0;

async function worker() {
  while (sent < total) {
    sent++;
    const res = await pool.request({ path: url.pathname + url.search, method: 'GET' });
    if (res.statusCode !== 200) failed++;
    await res.body.dump();
  }
}

Promise.all(Array.from({ length: concurrency }, worker)).then(async () => {
  await pool.close();
  if (failed > 0) {
    console.error(`${failed} of ${total} requests did not answer 200`);
    process.exit(1);
  }
});
