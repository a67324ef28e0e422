// A minimal Lambda Invoke API for benchmarks (one process, keep-alive): every
// POST /2015-03-31/functions/<name>/invocations answers the walkthrough function's result.
//   PORT=19041 node bench/lib/lambda-invoke-server.js
import http from 'node:http';

const port = Number(process.env.PORT || 19041);
const body = '{"statusCode": 200, "body": "{}"}';
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.startsWith('/2015-03-31/functions/') || !req.headers.authorization) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': 'bench', 'x-amz-executed-version': '$LATEST' });
    res.end(body);
  });
});
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1', () => console.log(`lambda invoke server on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
