/**
 * registry:2: distribution 2.8.2 built static from Debian's packaged Go source, on the alpine
 * stand-in, with upstream's config and entrypoint.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parsePlatformList } from 'multiarch-harness';
import { REGISTRY_PLATFORMS as UPSTREAM } from '../../../scenarios/support/upstream-platforms.ts';
import { LABELS } from '../image-labels.ts';
import { buildRegistryBinary } from '../registry-binary.ts';
import { rootfsKey, type Recipe } from '../recipe.ts';

const REGISTRY_PLATFORMS = parsePlatformList(UPSTREAM.join(','));

const REGISTRY_CONFIG = `version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

/** The upstream image's entrypoint: a config path or a registry subcommand runs the registry. */
const REGISTRY_ENTRYPOINT = `#!/bin/sh
set -e
case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac
exec "$@"
`;

export const registry: Recipe = {
  ref: 'library/registry:2',
  mirrorRepo: 'library/registry',
  tag: '2',
  platforms: REGISTRY_PLATFORMS,
  dependsOn: ['library/alpine:latest'],
  packages: [{ name: 'golang-github-docker-distribution-dev', arch: 'host' }],
  async prepare({ dir, stateDir }) {
    for (const p of REGISTRY_PLATFORMS) {
      await buildRegistryBinary(p, join(dir, `registry-${rootfsKey(p)}`), stateDir);
    }
    await writeFile(join(dir, 'config.yml'), REGISTRY_CONFIG);
    await writeFile(join(dir, 'entrypoint.sh'), REGISTRY_ENTRYPOINT, { mode: 0o755 });
    const version = (await execa('dpkg-query', ['-W', '-f=${Version}', 'golang-github-docker-distribution-dev'])).stdout;
    await writeFile(
      join(dir, 'Dockerfile'),
      `FROM alpine:latest
ARG TARGETARCH
ARG TARGETVARIANT
COPY registry-\${TARGETARCH}\${TARGETVARIANT} /bin/registry
COPY config.yml /etc/docker/registry/config.yml
COPY entrypoint.sh /entrypoint.sh
VOLUME ["/var/lib/registry"]
EXPOSE 5000
${LABELS('registry:2', `golang-github-docker-distribution-dev ${version} (debian bookworm, distribution 2.8.2)`)}
ENTRYPOINT ["/entrypoint.sh"]
CMD ["/etc/docker/registry/config.yml"]
`,
    );
    return [];
  },
};
