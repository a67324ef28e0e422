// empty_arrays_mode "legacy": Kong decodes a JSON function result and re-encodes it with cjson,
// which writes an empty array as `{}` (the long-standing behaviour the mode keeps); "correct"
// keeps `[]`. Done on the text, so everything else in the body stays byte for byte as Lambda sent it.

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** `text` with every empty JSON array outside strings written as `{}`; unchanged if not JSON. */
export function emptyArraysAsObjects(text: string): string {
  if (!text.includes('[')) return text;
  try {
    JSON.parse(text);
  } catch {
    return text; // Kong passes a body it could not decode as it is
  }
  let out = '';
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */) {
      let j = i + 1;
      while (j < text.length && WS.has(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === 0x5d /* ] */) {
        out += `${text.slice(from, i)}{}`;
        from = j + 1;
        i = j;
      }
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Whether Kong applies the legacy rewrite: a Content-Type (first value) matching application/.*json. */
export function isJsonType(contentType: string | string[] | undefined): boolean {
  const ct = Array.isArray(contentType) ? contentType[0] : contentType;
  return typeof ct === 'string' && /application\/.*json/.test(ct.toLowerCase());
}
