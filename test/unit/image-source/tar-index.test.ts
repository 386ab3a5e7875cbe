// The tar index: member names and byte ranges from the headers alone, for the names tar writers use
// (ustar's prefix, GNU's long names, PAX records), links resolved, and the bounds that refuse a
// hostile or broken archive in one sentence.
import { mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LocalImageError } from '../../../harness/image-source/index.ts';
import { readTarIndex, type TarMember } from '../../../harness/image-source/tar-index.ts';
import { packTar } from '../../support/oci-layouts.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-tar-index-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** One 512-byte header, GNU ("ustar  ") unless `posix`, its checksum computed. */
function header(o: { name: string; size: number; type: string; linkname?: string; prefix?: string; posix?: boolean }): Buffer {
  const h = Buffer.alloc(512);
  h.write(o.name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${o.size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(o.type, 156);
  if (o.linkname) h.write(o.linkname, 157, 100, 'utf8');
  if (o.posix) {
    h.write('ustar\u000000', 257, 'latin1');
    if (o.prefix) h.write(o.prefix, 345, 155, 'utf8');
  } else h.write('ustar  \0', 257, 'latin1');
  h.write('        ', 148);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
const member = (o: Parameters<typeof header>[0], data = Buffer.alloc(0)) => Buffer.concat([header(o), pad(data)]);
const end = Buffer.alloc(1024);

/** A PAX record: its length counts the whole record, the length's own digits included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  return `${length}${body}`;
}

async function bytesOf(file: string, m: TarMember | undefined): Promise<string> {
  if (!m) return '<absent>';
  return (await readFile(file)).subarray(m.offset, m.offset + m.size).toString();
}

describe('readTarIndex', () => {
  test("tar-stream's ustar prefix and PAX names, each member's range", async () => {
    const file = join(dir, 'packed.tar');
    const split = `${'d/'.repeat(60)}file`; // fits ustar's prefix and name fields
    const long = `${'x'.repeat(300)}/file`; // fits neither: a PAX path record
    await packTar(file, [
      { name: './oci-layout', bytes: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { name: split, bytes: Buffer.from('split name') },
      { name: long, bytes: Buffer.from('pax name') },
      { name: 'empty', bytes: Buffer.alloc(0) },
    ]);
    const index = await readTarIndex(file);
    expect([...index.keys()]).toEqual(['oci-layout', split, long, 'empty']);
    expect(await bytesOf(file, index.get('oci-layout'))).toBe('{"imageLayoutVersion":"1.0.0"}');
    expect(await bytesOf(file, index.get(split))).toBe('split name');
    expect(await bytesOf(file, index.get(long))).toBe('pax name');
    expect(index.get('empty')?.size).toBe(0);
  });

  test("GNU long names ('L'), a PAX size and path ('x'), a POSIX prefix, links to members", async () => {
    const file = join(dir, 'gnu.tar');
    const longName = `blobs/sha256/${'a'.repeat(200)}`;
    const paxName = `pax/${'p'.repeat(150)}`;
    const pax = Buffer.from(paxRecord('path', paxName) + paxRecord('size', '9') + paxRecord('mtime', '1.5'));
    await writeFile(
      file,
      Buffer.concat([
        member({ name: '././@LongLink', size: longName.length + 1, type: 'L' }, Buffer.from(`${longName}\0`)),
        member({ name: longName.slice(0, 100), size: 9, type: '0' }, Buffer.from('long name')),
        member({ name: 'PaxHeaders/x', size: pax.length, type: 'x', posix: true }, pax),
        // The header states 0 bytes; the PAX record's 9 win, as tar reads it.
        member({ name: 'short', size: 0, type: '0', posix: true }, Buffer.from('pax bytes')),
        member({ name: 'file', prefix: 'some/prefix', size: 6, type: '0', posix: true }, Buffer.from('prefix')),
        member({ name: 'hard', size: 0, type: '1', linkname: 'some/prefix/file' }),
        member({ name: 'dir/sym', size: 0, type: '2', linkname: '../hard' }),
        member({ name: 'dangling', size: 0, type: '2', linkname: 'nowhere' }),
        member({ name: 'dir/', size: 0, type: '5' }),
        end,
      ]),
    );
    const index = await readTarIndex(file);
    expect(await bytesOf(file, index.get(longName))).toBe('long name');
    expect(await bytesOf(file, index.get(paxName))).toBe('pax bytes');
    expect(index.has('short')).toBe(false);
    expect(await bytesOf(file, index.get('some/prefix/file'))).toBe('prefix');
    expect(await bytesOf(file, index.get('hard'))).toBe('prefix');
    expect(await bytesOf(file, index.get('dir/sym'))).toBe('prefix');
    expect(index.has('dangling')).toBe(false);
    expect(index.has('dir')).toBe(false);
  });

  test('a GNU name longer than 4096 bytes is refused without being read', async () => {
    const file = join(dir, 'long.tar');
    const name = 'n'.repeat(5000);
    await writeFile(
      file,
      Buffer.concat([member({ name: '././@LongLink', size: name.length + 1, type: 'L' }, Buffer.from(`${name}\0`)), end]),
    );
    await expect(readTarIndex(file)).rejects.toThrow(
      `The tar archive ${file} has a member name of 5001 bytes at byte 0, more than the 4096 the harness reads.`,
    );
  });

  test('a member that ends past the end of the file: the archive is cut short', async () => {
    const file = join(dir, 'cut.tar');
    await writeFile(
      file,
      Buffer.concat([member({ name: 'a', size: 3, type: '0' }, Buffer.from('abc')), member({ name: 'big', size: 4096, type: '0' })]),
    );
    await expect(readTarIndex(file)).rejects.toThrow(
      `The tar archive ${file} is cut short: the member at byte 1024 holds 4096 bytes, which end past the end of the file (1536 bytes).`,
    );
    // Cut in the middle of a header.
    await writeFile(
      file,
      Buffer.concat([member({ name: 'a', size: 3, type: '0' }, Buffer.from('abc')), member({ name: 'b', size: 0, type: '0' })]),
    );
    await truncate(file, 1024 + 100);
    await expect(readTarIndex(file)).rejects.toThrow(`is cut short: it ends in the middle of the header at byte 1024.`);
  });

  test('what is not a plain tar: compressed, another file, a damaged header, no file', async () => {
    const file = join(dir, 'other.tar');
    await writeFile(file, gzipSync(member({ name: 'a', size: 0, type: '0' })));
    await expect(readTarIndex(file)).rejects.toThrow(
      `${file} is compressed (gzip): the harness reads an uncompressed tar, so decompress it first.`,
    );
    await writeFile(file, Buffer.alloc(600, 'x'));
    await expect(readTarIndex(file)).rejects.toThrow(`${file} is not a tar archive (its first header's checksum does not match).`);
    await writeFile(file, Buffer.concat([member({ name: 'a', size: 0, type: '0' }), member({ name: 'b', size: 0, type: '0' }), end]));
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from('B'), 0, 1, 512);
    await handle.close();
    await expect(readTarIndex(file)).rejects.toThrow(
      `The tar archive ${file} is damaged at byte 512: a header whose checksum does not match.`,
    );
    await expect(readTarIndex(join(dir, 'absent.tar'))).rejects.toThrow(LocalImageError);
    await expect(readTarIndex(join(dir, 'absent.tar'))).rejects.toThrow(`There is no file ${join(dir, 'absent.tar')}.`);
    await expect(readTarIndex(dir)).rejects.toThrow(`${dir} is a folder, not a tar archive.`);
  });
});
