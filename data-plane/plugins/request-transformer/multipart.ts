// Just enough multipart/form-data to edit simple fields and re-emit every other part byte for byte.
export interface Part {
  name: string | null;
  /** Raw bytes of the part (headers, blank line, content) between boundaries. */
  raw: Buffer;
}

export function boundaryOf(contentType: string): string | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delim = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    let start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break; // closing delimiter
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2;
    const next = body.indexOf(delim, start);
    if (next < 0) break;
    let end = next;
    if (body.subarray(end - 2, end).toString() === '\r\n') end -= 2;
    const raw = body.subarray(start, end);
    const headEnd = raw.indexOf('\r\n\r\n');
    const head = headEnd >= 0 ? raw.subarray(0, headEnd).toString('latin1') : '';
    const m = /content-disposition:[^\r\n]*?\bname="([^"]*)"/i.exec(head);
    parts.push({ name: m ? m[1] : null, raw });
    pos = next;
  }
  return parts;
}

export function simplePart(name: string, value: string): Part {
  return { name, raw: Buffer.from(`Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`) };
}

export function partValue(p: Part): string {
  const i = p.raw.indexOf('\r\n\r\n');
  return i >= 0 ? p.raw.subarray(i + 4).toString('utf8') : '';
}

export function serializeMultipart(parts: Part[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) chunks.push(Buffer.from(`--${boundary}\r\n`), p.raw, Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}
