/**
 * The members of an uncompressed tar file, found in one pass over its headers: each header is a
 * positioned read of 512 bytes, and each member's data is skipped by its size, never read (only the
 * GNU long-name and PAX records that name the next member are). A member is then served as a byte
 * range of the file (tarFiles, layout-files.ts). The pass is bounded: names of at most 4096 bytes, at
 * most 1,000,000 members, and no member may end past the end of the file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { LocalImageError } from './local-image-error.ts';

/** Where a member's bytes are in the tar file. */
export interface TarMember {
  offset: number;
  size: number;
}

/** The longest member name the index takes (Linux's PATH_MAX): a longer GNU or PAX name is refused, not read. */
const MAX_NAME_BYTES = 4096;
/** The most members one archive may hold: an image layout of a thousand platforms has a few thousand. */
const MAX_MEMBERS = 1_000_000;
/** The largest PAX record set read for one member (a path, a size, times, a few extended attributes). */
const MAX_PAX_BYTES = 1024 * 1024;
/** How many links in a row a member name is followed through (a symlink to a hard link to ...). */
const MAX_LINK_HOPS = 16;

const BLOCK = 512;

/** What a compressed file starts with: the harness reads plain tars only, and says which compression it saw. */
const COMPRESSIONS: Array<[string, number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
];

/**
 * Every regular file of the tar, by name (a leading './' or '/' dropped), with where its bytes are.
 * A hard link or a symbolic link to a regular file of the archive is listed too, with its target's
 * range (docker save links a layer shared by two images). A name given twice is the later member,
 * as tar extracts it.
 */
export async function readTarIndex(file: string): Promise<Map<string, TarMember>> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LocalImageError(code === 'ENOENT' ? `There is no file ${file}.` : `The file ${file} cannot be read (${code}).`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new LocalImageError(`${file} is ${stat.isDirectory() ? 'a folder' : 'not a regular file'}, not a tar archive.`);
    return await readHeaders(handle, file, stat.size);
  } finally {
    await handle.close();
  }
}

async function readHeaders(handle: FileHandle, file: string, fileSize: number): Promise<Map<string, TarMember>> {
  const members = new Map<string, TarMember>();
  const links = new Map<string, string>();
  const header = Buffer.alloc(BLOCK);
  const damaged = (at: number, why: string) => new LocalImageError(`The tar archive ${file} is damaged at byte ${at}: ${why}.`);
  let pos = 0;
  let count = 0;
  // What GNU 'L'/'K' and PAX 'x' headers say of the member that follows them.
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  for (;;) {
    const got = await readFully(handle, header, pos);
    // A file that ends where a header would start ends the archive, end-of-archive blocks or not.
    if (got === 0) break;
    if (pos === 0) {
      const compressed = COMPRESSIONS.find(([, magic]) => magic.every((b, i) => header[i] === b));
      if (compressed)
        throw new LocalImageError(
          `${file} is compressed (${compressed[0]}): the harness reads an uncompressed tar, so decompress it first.`,
        );
      if (got < BLOCK) throw new LocalImageError(`${file} is not a tar archive (it holds ${got} bytes, less than one tar header).`);
    }
    if (got < BLOCK) throw new LocalImageError(`The tar archive ${file} is cut short: it ends in the middle of the header at byte ${pos}.`);
    if (header.every((b) => b === 0)) break;
    if (!checksumMatches(header)) {
      throw pos === 0
        ? new LocalImageError(`${file} is not a tar archive (its first header's checksum does not match).`)
        : damaged(pos, 'a header whose checksum does not match');
    }
    if (++count > MAX_MEMBERS)
      throw new LocalImageError(`The tar archive ${file} holds more than ${MAX_MEMBERS} members, more than the harness reads.`);
    const type = header[156] === 0 ? '0' : String.fromCharCode(header[156]!);
    const extension = type === 'L' || type === 'K' || type === 'x' || type === 'g';
    const headerSize = numeric(header, 124, 12);
    if (headerSize === undefined) throw damaged(pos, 'a header whose size is not a number');
    const size = !extension && pax.size !== undefined ? paxSize(pax.size) : headerSize;
    if (size === undefined) throw damaged(pos, `a PAX size "${pax.size}" that is not a number`);
    const offset = pos + BLOCK;
    if (offset + size > fileSize) {
      throw new LocalImageError(
        `The tar archive ${file} is cut short: the member at byte ${pos} holds ${size} bytes, which end past the end of the file (${fileSize} bytes).`,
      );
    }
    const extensionData = async (max: number, what: string) => {
      if (size > max)
        throw new LocalImageError(
          `The tar archive ${file} has a ${what} of ${size} bytes at byte ${pos}, more than the ${max} the harness reads.`,
        );
      const data = Buffer.alloc(size);
      await readFully(handle, data, offset);
      return data;
    };
    if (type === 'L') longName = cString(await extensionData(MAX_NAME_BYTES, 'member name'), 0, size);
    else if (type === 'K') longLink = cString(await extensionData(MAX_NAME_BYTES, 'link target'), 0, size);
    else if (type === 'x')
      pax = parsePax(await extensionData(MAX_PAX_BYTES, 'PAX header'), () => damaged(pos, 'a PAX record that is malformed'));
    else if (type !== 'g') {
      const raw = pax.path ?? longName ?? ustarName(header);
      if (Buffer.byteLength(raw) > MAX_NAME_BYTES)
        throw new LocalImageError(`The tar archive ${file} names a member with more than ${MAX_NAME_BYTES} bytes at byte ${pos}.`);
      const name = memberName(raw);
      const target = pax.linkpath ?? longLink ?? cString(header, 157, 100);
      if (name) {
        members.delete(name);
        links.delete(name);
        // '0' regular, '7' contiguous (a regular file to every reader), '1' hard link (to a name of the archive), '2' symbolic link.
        if (type === '0' || type === '7') members.set(name, { offset, size });
        else if (type === '1') links.set(name, memberName(target));
        else if (type === '2') links.set(name, memberName(target.startsWith('/') ? target : posix.join(posix.dirname(name), target)));
      }
      longName = longLink = undefined;
      pax = {};
    }
    pos = offset + Math.ceil(size / BLOCK) * BLOCK;
  }
  for (const [name, target] of links) {
    let at = target;
    for (let hop = 0; hop < MAX_LINK_HOPS && links.has(at); hop++) at = links.get(at)!;
    const member = members.get(at);
    if (member) members.set(name, member);
  }
  return members;
}

/** Reads into the whole buffer from `pos`, as far as the file goes; how many bytes came. */
async function readFully(handle: FileHandle, buffer: Buffer, pos: number): Promise<number> {
  let got = 0;
  while (got < buffer.length) {
    const { bytesRead } = await handle.read(buffer, got, buffer.length - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** The header's checksum field against the sum of its bytes (the field itself counted as spaces), unsigned or, as old tars wrote it, signed. */
function checksumMatches(header: Buffer): boolean {
  const stated = numeric(header, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : header[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stated === unsigned || stated === signed;
}

/** A numeric field: octal text ended by a space or NUL, or GNU's base-256 (first byte 0x80) for sizes past 8 GiB. */
function numeric(header: Buffer, at: number, length: number): number | undefined {
  if (header[at]! & 0x80) {
    if (header[at] === 0xff) return undefined;
    let n = header[at]! & 0x7f;
    for (let i = 1; i < length; i++) n = n * 256 + header[at + i]!;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const text = cString(header, at, length).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

const paxSize = (text: string) => (/^\d{1,16}$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined);

/** Text up to its first NUL, as UTF-8. */
function cString(bytes: Buffer, at: number, length: number): string {
  const end = bytes.indexOf(0, at);
  return bytes.toString('utf8', at, end >= 0 && end < at + length ? end : at + length);
}

/** A ustar header's name: its prefix field (POSIX ustar only; GNU keeps times there) and its name field. */
function ustarName(header: Buffer): string {
  const name = cString(header, 0, 100);
  const posixUstar = header.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = posixUstar ? cString(header, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** A member's name as the index keys it: no leading './' or '/', no trailing '/', no '.' steps. */
function memberName(raw: string): string {
  const name = posix.normalize(raw.replace(/^\/+/, '')).replace(/\/+$/, '');
  return name === '.' ? '' : name;
}

/** PAX records, "LENGTH key=value\n" each, LENGTH counting the whole record in bytes. */
function parsePax(data: Buffer, malformed: () => Error): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    // Padding after the last record (NULs) ends the set.
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    const length = space > at ? Number(data.toString('latin1', at, space)) : NaN;
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > data.length || data[at + length - 1] !== 0x0a)
      throw malformed();
    const record = data.toString('utf8', space + 1, at + length - 1);
    const equals = record.indexOf('=');
    if (equals <= 0) throw malformed();
    records[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return records;
}
