/** Raw tar blocks for hostile-archive tests: any header, any declared size, any type. */

/** One ustar header block; sizes past the octal field are written in base-256 like GNU tar. */
export function header(name: string, size: number | bigint, type = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  const big = BigInt(size);
  if (big > 0o77777777777n) {
    h[124] = 0x80;
    for (let i = 135, v = big; i > 124; i--, v >>= 8n) h[i] = Number(v & 0xffn);
  } else h.write(`${big.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** A tar of raw blocks: header, then the body padded to 512 bytes; two zero blocks at the end. */
export function rawTar(
  entries: Array<{ name: string; type?: string; body?: string; size?: number | bigint }>,
): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    parts.push(header(e.name, e.size ?? body.length, e.type ?? '0'));
    if (body.length > 0) parts.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** PAX extended-header records (`<len> <key>=<value>\n`). */
export function pax(records: Record<string, string>): string {
  return Object.entries(records)
    .map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = rest.length + 1;
      while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
      return `${len}${rest}`;
    })
    .join('');
}
