/**
 * alpine:latest: Debian trixie's busybox-static for each architecture with its applet links (a
 * shell and coreutils, not musl or apk).
 */
import { cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parsePlatformList } from 'multiarch-harness';
import { debianArch } from 'multiarch-harness/prepare';
import { ALPINE_PLATFORMS as UPSTREAM } from '../../../scenarios/support/upstream-platforms.ts';
import type { FetchedPackage } from '../debian-archive.ts';
import { LABELS, packageSummary } from '../image-labels.ts';
import { perArch, rootfsKey, type Recipe } from '../recipe.ts';

const ALPINE_PLATFORMS = parsePlatformList(UPSTREAM.join(','));

const ETC_FILES: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n',
  'etc/group': 'root:x:0:root\nnogroup:x:65534:\n',
  'etc/hosts': '127.0.0.1\tlocalhost\n',
  'etc/os-release':
    'NAME="Alpine Linux (multiarch-harness stand-in: Debian busybox-static)"\nID=alpine\nPRETTY_NAME="stand-in for alpine:latest"\n',
};

/** A busybox root file system: the static busybox binary and a symlink for each applet. */
async function busyboxRootfs(pkg: FetchedPackage, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root', 'var/tmp', 'proc', 'sys', 'dev']) {
    await mkdir(join(target, d), { recursive: true });
  }
  await cp(join(pkg.root, 'usr/bin/busybox'), join(target, 'bin/busybox'));
  // The applet list comes from the binary itself (run through QEMU when it is foreign); a
  // fixed list stands in when this host cannot run it.
  const { stdout } = await execa(join(pkg.root, 'usr/bin/busybox'), ['--list-full'], { reject: false });
  const applets = stdout ? stdout.split('\n') : DEFAULT_APPLETS;
  for (const applet of applets) {
    if (!applet || applet === 'bin/busybox') continue;
    const at = join(target, applet);
    await rm(at, { force: true });
    await symlink('/bin/busybox', at).catch(() => undefined);
  }
  for (const [path, text] of Object.entries(ETC_FILES)) await writeFile(join(target, path), text);
}

/** Applets used when the foreign busybox cannot list them (no handler for it on this host). */
const DEFAULT_APPLETS = [
  'bin/sh',
  'bin/ash',
  'bin/cat',
  'bin/echo',
  'bin/ls',
  'bin/uname',
  'bin/mkdir',
  'bin/rm',
  'bin/cp',
  'bin/mv',
  'bin/ln',
  'bin/sleep',
  'bin/grep',
  'bin/sed',
  'bin/tar',
  'bin/gzip',
  'bin/chmod',
  'bin/date',
  'bin/env',
  'usr/bin/env',
  'usr/bin/wget',
  'usr/bin/id',
  'usr/bin/head',
  'usr/bin/tail',
  'usr/bin/tr',
  'usr/bin/wc',
  'usr/bin/awk',
  'usr/bin/find',
  'usr/bin/sort',
  'usr/bin/test',
  'bin/true',
  'bin/false',
  'bin/hostname',
  'bin/pwd',
  'usr/bin/which',
  'usr/bin/xargs',
  'usr/bin/cut',
  'usr/bin/od',
  'usr/bin/sha256sum',
  'bin/touch',
  'bin/ps',
];

export const alpine: Recipe = {
  ref: 'library/alpine:latest',
  mirrorRepo: 'library/alpine',
  tag: 'latest',
  platforms: ALPINE_PLATFORMS,
  dependsOn: [],
  packages: perArch('busybox-static', ALPINE_PLATFORMS),
  async prepare({ trixie, dir }) {
    const fetched: FetchedPackage[] = [];
    for (const p of ALPINE_PLATFORMS) {
      const pkg = await trixie.fetch('busybox-static', debianArch(p));
      fetched.push(pkg);
      await busyboxRootfs(pkg, join(dir, 'rootfs', rootfsKey(p)));
    }
    await writeFile(
      join(dir, 'Dockerfile'),
      `FROM scratch
ARG TARGETARCH
ARG TARGETVARIANT
COPY rootfs/\${TARGETARCH}\${TARGETVARIANT}/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
${LABELS('alpine:latest', packageSummary(fetched, 'trixie'), ': busybox, not musl and apk')}
CMD ["/bin/sh"]
`,
    );
    return fetched;
  },
};
