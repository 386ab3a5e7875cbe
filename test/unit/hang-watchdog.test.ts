import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { cpuTicksFromStat, findEmulatedProcesses, type Hang, HangWatchdog, hangSeconds } from '../../harness/engine/hang-watchdog.ts';

const root = mkdtempSync(join(tmpdir(), 'hang-watchdog-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh fake /proc with two fake QEMU interpreters and one ordinary program. */
function fakeHost() {
  const dir = join(root, String(n++));
  const bin = join(dir, 'bin');
  const proc = join(dir, 'proc');
  mkdirSync(bin, { recursive: true });
  mkdirSync(proc);
  const interp = { arm64: join(bin, 'qemu-aarch64'), riscv: join(bin, 'qemu-riscv64'), sh: join(bin, 'sh') };
  for (const f of Object.values(interp)) writeFileSync(f, 'ELF');
  const interpreters = [
    { handler: 'qemu-aarch64', path: interp.arm64 },
    { handler: 'qemu-riscv64', path: interp.riscv },
  ];
  const statLine = (pid: number, ticks: number, comm = 'go') =>
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime ...
    `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${ticks - Math.floor(ticks / 3)} ${Math.floor(ticks / 3)} 0 0 20 0 3 0 12345 1000000 200\n`;
  return {
    proc,
    interpreters,
    /** A process running `exe` with this many ticks (utime+stime). */
    spawn(pid: number, exe: string, ticks: number, comm?: string) {
      mkdirSync(join(proc, String(pid)));
      symlinkSync(exe, join(proc, String(pid), 'exe'));
      writeFileSync(join(proc, String(pid), 'stat'), statLine(pid, ticks, comm));
    },
    setTicks(pid: number, ticks: number) {
      writeFileSync(join(proc, String(pid), 'stat'), statLine(pid, ticks));
    },
    exit(pid: number) {
      rmSync(join(proc, String(pid)), { recursive: true, force: true });
    },
    interp,
  };
}

/** A watchdog on a fake host with a hand-driven clock and a kill that only records. */
function watch(host: ReturnType<typeof fakeHost>, idleMs = 1000) {
  const clock = { t: 1_700_000_000_000 };
  const killed: Array<[number, string]> = [];
  const reported: Hang[] = [];
  const dog = new HangWatchdog({
    interpreters: host.interpreters,
    idleMs,
    pollMs: 100,
    procDir: host.proc,
    now: () => clock.t,
    kill: (pid, signal) => {
      killed.push([pid, signal]);
    },
    onHang: (h) => reported.push(h),
  });
  /** Advances the clock by ms, then polls. */
  const tick = async (ms: number) => {
    clock.t += ms;
    await dog.poll();
  };
  return { dog, clock, killed, reported, tick };
}

describe('cpuTicksFromStat', () => {
  test('reads utime+stime after the last parenthesis, whatever comm holds', () => {
    expect(cpuTicksFromStat('42 (go) S 1 42 42 0 -1 0 0 0 0 0 7 5 0 0')).toBe(12);
    expect(cpuTicksFromStat('42 (a b) c) (d) R 1 42 42 0 -1 0 0 0 0 0 70 30 0 0')).toBe(100);
    expect(cpuTicksFromStat('garbage')).toBeUndefined();
    expect(cpuTicksFromStat('42 (go) S 1')).toBeUndefined();
  });
});

describe('findEmulatedProcesses', () => {
  test('finds processes whose exe is an interpreter, with their handler and ticks', async () => {
    const host = fakeHost();
    host.spawn(100, host.interp.arm64, 30, 'my (odd) comm');
    host.spawn(101, host.interp.riscv, 7);
    host.spawn(102, host.interp.sh, 99);
    mkdirSync(join(host.proc, 'self'));
    writeFileSync(join(host.proc, 'uptime'), '1 1');
    const found = await findEmulatedProcesses(host.interpreters, host.proc);
    expect(found.sort((a, b) => a.pid - b.pid)).toEqual([
      { pid: 100, handler: 'qemu-aarch64', cpuTicks: 30 },
      { pid: 101, handler: 'qemu-riscv64', cpuTicks: 7 },
    ]);
  });

  test('skips processes that vanished mid-read and interpreters that do not exist', async () => {
    const host = fakeHost();
    host.spawn(200, host.interp.arm64, 5);
    // exe resolves but stat is gone: exited between the two reads.
    mkdirSync(join(host.proc, '201'));
    symlinkSync(host.interp.arm64, join(host.proc, '201', 'exe'));
    // exe gone (exited, zombie or kernel thread).
    mkdirSync(join(host.proc, '202'));
    writeFileSync(join(host.proc, '202', 'stat'), '202 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0');
    // exe points nowhere.
    mkdirSync(join(host.proc, '203'));
    symlinkSync(join(host.proc, 'nowhere'), join(host.proc, '203', 'exe'));
    const found = await findEmulatedProcesses(
      [...host.interpreters, { handler: 'qemu-missing', path: join(host.proc, 'no-such-qemu') }],
      host.proc,
    );
    expect(found).toEqual([{ pid: 200, handler: 'qemu-aarch64', cpuTicks: 5 }]);
  });

  test('on the real /proc, finds this Node process by its own executable', async () => {
    const found = await findEmulatedProcesses([{ handler: 'self', path: process.execPath }]);
    const me = found.find((p) => p.pid === process.pid);
    expect(me).toBeDefined();
    expect(me?.handler).toBe('self');
    expect(me?.cpuTicks).toBeGreaterThan(0);
  });
});

describe('HangWatchdog', () => {
  let host: ReturnType<typeof fakeHost>;
  beforeEach(() => {
    host = fakeHost();
  });

  test('a process whose CPU time grows is never killed', async () => {
    const { killed, reported, tick, dog } = watch(host);
    host.spawn(300, host.interp.arm64, 10);
    for (let i = 1; i <= 20; i++) {
      host.setTicks(300, 10 + i);
      await tick(400);
    }
    expect(killed).toEqual([]);
    expect(reported).toEqual([]);
    expect(dog.hangs).toEqual([]);
  });

  test('a process with flat CPU time past idleMs is killed and reported, once', async () => {
    const { killed, reported, tick, dog, clock } = watch(host, 1000);
    host.spawn(400, host.interp.arm64, 50);
    host.spawn(401, host.interp.arm64, 8);
    host.spawn(402, host.interp.riscv, 1);
    await tick(0); // first sight: both are new
    await tick(500);
    await tick(400); // 900 ms idle
    expect(killed).toEqual([]);
    host.setTicks(402, 2); // riscv makes progress, aarch64 does not
    await tick(200); // 1100 ms idle
    expect(killed.sort()).toEqual([
      [400, 'SIGKILL'],
      [401, 'SIGKILL'],
    ]);
    expect(reported).toEqual([{ handler: 'qemu-aarch64', pids: [400, 401], idleMs: 1100, at: new Date(clock.t).toISOString() }]);
    expect(dog.hangs).toEqual(reported);

    // The clock restarts after a kill: not reported again right away even though the fake processes linger.
    await tick(500);
    expect(reported).toHaveLength(1);
    // The riscv handler (which did progress) is not hung yet.
    expect(reported.some((h) => h.handler === 'qemu-riscv64')).toBe(false);
  });

  test('ESRCH is ignored, other kill errors are reported as unkillable', async () => {
    const reported: Hang[] = [];
    const clock = { t: 0 };
    const dog = new HangWatchdog({
      interpreters: host.interpreters,
      idleMs: 100,
      procDir: host.proc,
      now: () => clock.t,
      kill: (pid) => {
        throw Object.assign(new Error('nope'), { code: pid === 500 ? 'ESRCH' : 'EPERM' });
      },
      onHang: (h) => {
        reported.push(h);
        throw new Error('owner bug'); // must not escape the watchdog
      },
    });
    host.spawn(500, host.interp.riscv, 3);
    host.spawn(501, host.interp.riscv, 3);
    await dog.poll();
    clock.t += 200;
    await expect(dog.poll()).resolves.toBeUndefined();
    expect(reported).toEqual([
      { handler: 'qemu-riscv64', pids: [500, 501], idleMs: 200, at: new Date(200).toISOString(), unkillable: [501] },
    ]);
  });

  test('activity() restarts the clock, for one handler or for all', async () => {
    const { killed, tick, dog } = watch(host, 1000);
    host.spawn(600, host.interp.arm64, 4);
    host.spawn(601, host.interp.riscv, 4);
    await tick(0);
    await tick(800);
    dog.activity('qemu-aarch64');
    await tick(400); // aarch64 idle 400 ms, riscv 1200 ms
    expect(killed).toEqual([[601, 'SIGKILL']]);
    await tick(500); // aarch64 900 ms
    dog.activity();
    await tick(900); // 900 ms since activity for all
    expect(killed).toEqual([[601, 'SIGKILL']]);
    await tick(200);
    expect(killed.map(([pid]) => pid).sort()).toEqual([600, 601, 601]);
  });

  test('a handler with no processes is never reported, and its clock starts when some appear', async () => {
    const { killed, reported, tick } = watch(host, 1000);
    host.spawn(700, host.interp.sh, 1); // not emulated
    for (let i = 0; i < 10; i++) await tick(500);
    expect(reported).toEqual([]);
    host.spawn(701, host.interp.arm64, 9);
    await tick(500); // first sight
    await tick(900);
    expect(killed).toEqual([]);
    await tick(200);
    expect(killed).toEqual([[701, 'SIGKILL']]);
  });

  test('a process that exits or starts counts as progress; a vanished pid is simply dropped', async () => {
    const { killed, tick } = watch(host, 1000);
    host.spawn(800, host.interp.arm64, 9);
    host.spawn(801, host.interp.arm64, 9);
    await tick(0);
    await tick(900);
    host.exit(801);
    await tick(900); // 801 exited: progress
    expect(killed).toEqual([]);
    await tick(1000);
    expect(killed).toEqual([[800, 'SIGKILL']]);
  });

  test('poll errors are swallowed', async () => {
    const dog = new HangWatchdog({
      interpreters: host.interpreters,
      idleMs: 1,
      procDir: join(host.proc, 'does-not-exist'),
      onHang: () => {},
    });
    await expect(dog.poll()).resolves.toBeUndefined();
  });

  test('start() polls on an unref()d timer and stop() ends it', async () => {
    const clock = { t: 0 };
    const killed: number[] = [];
    const dog = new HangWatchdog({
      interpreters: host.interpreters,
      idleMs: 50,
      pollMs: 5,
      procDir: host.proc,
      now: () => clock.t,
      kill: (pid) => void killed.push(pid),
      onHang: () => {},
    });
    host.spawn(900, host.interp.arm64, 1);
    const timerOf = () => (dog as unknown as { timer?: NodeJS.Timeout }).timer;
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    dog.start();
    expect(timerOf()?.hasRef()).toBe(false); // never keeps Node alive
    // Each retry moves the clock on, so the kill comes whenever the timer's polls run.
    await vi.waitFor(
      () => {
        clock.t += 100;
        expect(killed).toContain(900);
      },
      { timeout: 2000, interval: 10 },
    );
    expect(timerOf()?.hasRef()).toBe(false);
    dog.stop();
    expect(timerOf()).toBeUndefined();
    const count = killed.length;
    clock.t += 1000;
    await wait(30);
    expect(killed.length).toBe(count);
  });
});

describe('hangSeconds', () => {
  test('reads MULTIARCH_HANG_SECONDS, 180 unless a positive number', () => {
    expect(hangSeconds({})).toBe(180);
    expect(hangSeconds({ MULTIARCH_HANG_SECONDS: '60' })).toBe(60);
    expect(hangSeconds({ MULTIARCH_HANG_SECONDS: '2.5' })).toBe(2.5);
    for (const bad of ['', '0', '-5', 'abc', 'Infinity', 'NaN', '10s']) {
      expect(hangSeconds({ MULTIARCH_HANG_SECONDS: bad })).toBe(180);
    }
  });
});

describe('only the watched work, and I/O as progress', () => {
  test("a cgroup filter keeps other containers' emulated processes out of sight (and out of reach)", async () => {
    const host = fakeHost();
    host.spawn(100, host.interp.arm64, 10);
    host.spawn(101, host.interp.arm64, 10);
    writeFileSync(join(host.proc, '100', 'cgroup'), '0::/docker/buildkit/7bm4p0ez0u9vpt7uv5akxu46m\n');
    writeFileSync(join(host.proc, '101', 'cgroup'), '0::/docker/47ed3c4bbc35edcf11431a993f5f3ec13b776ebb325e295c7a58c15143e77c98\n');
    const found = await findEmulatedProcesses(host.interpreters, host.proc, /\/buildkit\//);
    expect(found.map((p) => p.pid)).toEqual([100]);
    const killed: number[] = [];
    let now = 0;
    const dog = new HangWatchdog({
      interpreters: host.interpreters,
      idleMs: 1000,
      procDir: host.proc,
      now: () => now,
      kill: (pid) => {
        killed.push(pid);
      },
      onHang: () => undefined,
      cgroup: () => /\/buildkit\//,
    });
    await dog.poll();
    now += 2000;
    await dog.poll();
    expect(killed).toEqual([100]);
  });

  test('bytes read or written count as progress: a step waiting on the network with no CPU is not a hang', async () => {
    const host = fakeHost();
    host.spawn(200, host.interp.riscv, 10);
    const io = (bytes: number) => writeFileSync(join(host.proc, '200', 'io'), `rchar: ${bytes}\nwchar: 10\nsyscr: 1\n`);
    io(1000);
    const { killed, tick } = watch(host, 1000);
    await tick(0);
    io(5000);
    await tick(900);
    io(9000);
    await tick(900);
    expect(killed).toEqual([]);
    await tick(1100);
    expect(killed).toEqual([[200, 'SIGKILL']]);
  });

  test('while the watched container has no id yet, nothing is watched', async () => {
    const host = fakeHost();
    host.spawn(300, host.interp.arm64, 10);
    const killed: number[] = [];
    let now = 0;
    const dog = new HangWatchdog({
      interpreters: host.interpreters,
      idleMs: 1000,
      procDir: host.proc,
      now: () => now,
      kill: (pid) => {
        killed.push(pid);
      },
      onHang: () => undefined,
      cgroup: () => undefined,
    });
    await dog.poll();
    now += 5000;
    await dog.poll();
    expect(killed).toEqual([]);
  });
});
