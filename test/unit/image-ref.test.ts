import { describe, expect, test } from 'vitest';
import { UsageError } from '../../harness/base/errors.ts';
import { formatImageRef, isLoopbackRegistry, parseImageRef, pinned } from '../../harness/registry/image-ref.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('image references', () => {
  test.each([
    ['alpine', 'docker.io/library/alpine:latest'],
    ['jianghushinian/hello-go', 'docker.io/jianghushinian/hello-go:latest'],
    ['127.0.0.1:5000/hello-go:v1', '127.0.0.1:5000/hello-go:v1'],
    ['localhost/a/b', 'localhost/a/b:latest'],
    [`ghcr.io/o/r@${D}`, `ghcr.io/o/r@${D}`],
    [`ghcr.io/o/r:t@${D}`, `ghcr.io/o/r:t@${D}`],
  ])('%s', (input, want) => {
    expect(formatImageRef(parseImageRef(input))).toBe(want);
  });

  test.each(['', 'UPPER/case', 'a:b:c:d', 'x@sha256:zz', 'a b'])('rejects %j', (input) => {
    expect(() => parseImageRef(input)).toThrow(UsageError);
  });

  test('pinning drops the tag', () => {
    expect(pinned(parseImageRef('127.0.0.1:5000/hello:v1'), D)).toBe(`127.0.0.1:5000/hello@${D}`);
  });

  test('loopback registries', () => {
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackRegistry('localhost:5000')).toBe(true);
    expect(isLoopbackRegistry('ghcr.io')).toBe(false);
    expect(isLoopbackRegistry('127.0.0.1.evil.com')).toBe(false);
  });
});
