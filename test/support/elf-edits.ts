/**
 * A copy of an ELF file whose header names no section headers (offset, count and string index
 * zeroed), as `sstrip` leaves a file: what is left is what the loader reads, the program headers.
 */
export function withoutSectionHeaders(file: Buffer): Buffer {
  const copy = Buffer.from(file);
  const [shoff, width, shnum, shstrndx] = copy[4] === 2 ? [40, 8, 60, 62] : [32, 4, 48, 50];
  copy.fill(0, shoff, shoff + width);
  copy.fill(0, shnum, shnum + 2);
  copy.fill(0, shstrndx, shstrndx + 2);
  return copy;
}
