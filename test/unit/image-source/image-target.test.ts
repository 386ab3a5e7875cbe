// The targets a user names: a registry reference, or skopeo's local transports. A path may hold ':',
// so the split depends on what exists: here a set of paths stands in for the file system.
import { describe, expect, test } from 'vitest';
import { ImageTargetError, parseImageTarget } from '../../../harness/image-source/index.ts';

const on = (...paths: string[]) => {
  const existing = new Set(paths);
  return (path: string) => existing.has(path);
};
const local = (text: string, exists = on()) => {
  const t = parseImageTarget(text, exists);
  if (t.kind !== 'local') throw new Error(`${text} parsed as a registry reference`);
  return { transport: t.transport, path: t.path, tag: t.tag };
};

describe('parseImageTarget', () => {
  test('registry references, with or without docker://', () => {
    expect(parseImageTarget('alpine', on())).toEqual({
      kind: 'registry',
      ref: { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' },
    });
    expect(parseImageTarget('localhost:5000/a/b:v1', on())).toMatchObject({
      kind: 'registry',
      ref: { registry: 'localhost:5000', tag: 'v1' },
    });
    expect(parseImageTarget('docker://ghcr.io/o/r:t', on())).toMatchObject({
      kind: 'registry',
      ref: { registry: 'ghcr.io', repository: 'o/r', tag: 't' },
    });
  });

  test('oci: and oci-archive: split at the last colon when the part before exists and a tag follows', () => {
    expect(local('oci:./out', on('./out'))).toEqual({ transport: 'oci', path: './out', tag: undefined });
    expect(local('oci:./out:v1', on('./out'))).toEqual({ transport: 'oci', path: './out', tag: 'v1' });
    expect(local('oci-archive:/tmp/x.tar:latest', on('/tmp/x.tar'))).toEqual({
      transport: 'oci-archive',
      path: '/tmp/x.tar',
      tag: 'latest',
    });
    // A path with ':' in it: whole when the part before the last ':' does not exist.
    expect(local('oci:/data/2024-01-01T10:00', on('/data/2024-01-01T10:00'))).toEqual({
      transport: 'oci',
      path: '/data/2024-01-01T10:00',
      tag: undefined,
    });
    expect(local('oci:/data/a:b:v2', on('/data/a:b'))).toEqual({ transport: 'oci', path: '/data/a:b', tag: 'v2' });
    // Nothing exists: the whole is the path, and opening it says it is not there.
    expect(local('oci:missing:v1')).toEqual({ transport: 'oci', path: 'missing:v1', tag: undefined });
  });

  test('docker-archive: a name with a tag, a name alone, or @N; the file may hold ":"', () => {
    expect(local('docker-archive:img.tar', on('img.tar'))).toEqual({ transport: 'docker-archive', path: 'img.tar', tag: undefined });
    expect(local('docker-archive:img.tar:alpine:3.20', on('img.tar'))).toEqual({
      transport: 'docker-archive',
      path: 'img.tar',
      tag: 'alpine:3.20',
    });
    expect(local('docker-archive:img.tar:localhost:5000/a/b:v1', on('img.tar'))).toMatchObject({
      path: 'img.tar',
      tag: 'localhost:5000/a/b:v1',
    });
    expect(local('docker-archive:img.tar:@1', on('img.tar'))).toMatchObject({ path: 'img.tar', tag: '@1' });
    expect(local('docker-archive:a:b.tar:alpine', on('a:b.tar'))).toMatchObject({ path: 'a:b.tar', tag: 'alpine' });
    expect(local('docker-archive:a:b.tar', on('a:b.tar'))).toMatchObject({ path: 'a:b.tar', tag: undefined });
    // Nothing exists: split at the first ':', as skopeo does.
    expect(local('docker-archive:gone.tar:alpine:1')).toMatchObject({ path: 'gone.tar', tag: 'alpine:1' });
  });

  test('docker-daemon: a name and its tag', () => {
    expect(local('docker-daemon:alpine:3.20')).toEqual({ transport: 'docker-daemon', path: 'alpine', tag: '3.20' });
    expect(local('docker-daemon:localhost:5000/a')).toEqual({ transport: 'docker-daemon', path: 'localhost:5000/a', tag: undefined });
  });

  test.each([
    ['oci:', '"oci:" names no folder: write it as oci:DIR[:TAG].'],
    ['oci-archive:', '"oci-archive:" names no file: write it as oci-archive:FILE[:TAG].'],
    ['oci::v1', '"oci::v1" names no folder: write it as oci:DIR[:TAG].'],
    ['docker-daemon:', '"docker-daemon:" names no image: write it as docker-daemon:NAME[:TAG].'],
    ['docker-archive:img.tar:@x', '"docker-archive:img.tar:@x" ends in "@x", which names no image of an archive'],
    ['docker-daemon:alpine@sha256:' + 'a'.repeat(64), 'names an image by digest'],
    ['docker-daemon:UPPER', '"UPPER" is not an image name'],
    ['UPPER/case', 'is neither an image reference ([registry/]repository[:tag][@sha256:...]) nor a local image'],
  ])('%j is refused in one sentence', (text, message) => {
    const exists = on('img.tar');
    expect(() => parseImageTarget(text, exists)).toThrow(ImageTargetError);
    expect(() => parseImageTarget(text, exists)).toThrow(message);
  });

  test('a bad tag after an existing folder is named as such', () => {
    expect(() => parseImageTarget('oci:./out:-bad', on('./out'))).toThrow('"oci:./out:-bad" ends in "-bad", which is not a tag');
    expect(() => parseImageTarget('oci:./out:', on('./out'))).toThrow(`"oci:./out:" ends in ':' with no tag after it.`);
  });
});
