import { describe, expect, test } from 'vitest';
import { classify } from '../../harness/platform/execution-mode.ts';
import { fillTemplate, judge, unameMachine } from '../../harness/platform/expectations.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';

const host = {
  native: parsePlatform('linux/amd64'),
  qemuVersions: {},
  handlers: [
    { name: 'qemu-arm', enabled: true, interpreter: '/q', flags: 'PF' },
    { name: 'qemu-aarch64', enabled: true, interpreter: '/q', flags: 'PF' },
  ],
};

describe('templates', () => {
  test('fill every placeholder', () => {
    const p = parsePlatform('linux/arm/v6');
    expect(fillTemplate('Hello, {os}/{goarch}!', p)).toBe('Hello, linux/arm!');
    expect(fillTemplate('{platform} {arch} {variant} {unknown}', p)).toBe('linux/arm/v6 arm v6 {unknown}');
  });
});

describe('judge', () => {
  test('an output line must match the filled template, not merely contain it', () => {
    const e = classify(parsePlatform('linux/arm64'), host);
    expect(judge({ kind: 'output', template: 'Hello, {os}/{goarch}!' }, e, 'Hello, linux/arm64!\n').pass).toBe(true);
    const wrong = judge({ kind: 'output', template: 'Hello, {os}/{goarch}!' }, e, 'Hello, linux/amd64!');
    expect(wrong.pass).toBe(false);
    expect(wrong.message).toMatch(/expected the line "Hello, linux\/arm64!", got "Hello, linux\/amd64!"/);
    expect(judge({ kind: 'output', template: 'Hello' }, e, 'Hello, world').pass).toBe(false);
  });

  test('a template of several lines asks for each; build placeholders come from the build platform', () => {
    const e = classify(parsePlatform('linux/arm/v7'), host);
    const template = 'TARGETPLATFORM={platform}\nTARGETVARIANT={variant}\nBUILDPLATFORM={buildplatform}\nBUILDVARIANT={buildvariant}';
    const build = parsePlatform('linux/amd64');
    const out = 'BUILDPLATFORM=linux/amd64\nTARGETPLATFORM=linux/arm/v7\nTARGETVARIANT=v7\nBUILDVARIANT=\n';
    expect(judge({ kind: 'output', template }, e, out, build).pass).toBe(true);
    const wrong = judge({ kind: 'output', template }, e, out.replace('TARGETVARIANT=v7', 'TARGETVARIANT=v6'), build);
    expect(wrong.pass).toBe(false);
    expect(wrong.message).toMatch(/expected the line "TARGETVARIANT=v7"/);
  });

  test('uname expectations follow the execution mode', () => {
    const v6 = classify(parsePlatform('linux/arm/v6'), host);
    const article = 'Linux buildkitsandbox 5.15.49-linuxkit #1 SMP PREEMPT Tue Sep 13 07:51:32 UTC 2022 armv7l Linux';
    expect(judge({ kind: 'uname' }, v6, article).pass).toBe(true);
    expect(judge({ kind: 'uname' }, v6, 'armv6l').message).toMatch(/expected uname -m armv7l \(qemu\), got armv6l/);
    const i386 = classify(parsePlatform('linux/386'), host);
    expect(judge({ kind: 'uname' }, i386, 'Linux h 6.1 #1 SMP x86_64 GNU/Linux').pass).toBe(true);
  });

  test('unameMachine reads uname -m and uname -a', () => {
    expect(unameMachine('aarch64\n')).toBe('aarch64');
    expect(unameMachine('Linux 5b2 6.18.44 #1 SMP PREEMPT_DYNAMIC @0 armv7l GNU/Linux')).toBe('armv7l');
    expect(unameMachine('')).toBeUndefined();
  });
});
