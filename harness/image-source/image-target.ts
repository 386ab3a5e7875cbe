/**
 * What a user names as the image to verify: an image in a registry ([registry/]repository[:tag][@digest],
 * or skopeo's docker://), or a local one in skopeo's words: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
 * `docker-archive:FILE[:NAME:TAG|:@N]`, `docker-daemon:NAME[:TAG]`. A transport's prefix wins: `oci:latest`
 * is the folder "latest", as skopeo reads it, never Docker Hub's image "oci".
 */
import { existsSync } from 'node:fs';
import { UsageError } from '../base/index.ts';
import { isTag, parseImageRef, type ImageRef } from '../registry/index.ts';

type LocalTransport = 'oci' | 'oci-archive' | 'docker-archive' | 'docker-daemon';

export interface LocalImageTarget {
  kind: 'local';
  transport: LocalTransport;
  /** The folder (oci:), the file (oci-archive:, docker-archive:), or the image's name without its tag (docker-daemon:). */
  path: string;
  /** What names one image there: a tag (oci:, oci-archive:, docker-daemon:), or NAME[:TAG] or @N (docker-archive:). */
  tag?: string;
  /** The target as the user wrote it, for sentences. */
  text: string;
}

export type ImageTarget = { kind: 'registry'; ref: ImageRef } | LocalImageTarget;

/** A target the harness cannot read as any of the forms above; a usage error, one sentence. */
export class ImageTargetError extends UsageError {
  override name = 'ImageTargetError';
}

const FORMS: Record<LocalTransport, string> = {
  oci: 'oci:DIR[:TAG]',
  'oci-archive': 'oci-archive:FILE[:TAG]',
  'docker-archive': 'docker-archive:FILE[:NAME:TAG|:@N]',
  'docker-daemon': 'docker-daemon:NAME[:TAG]',
};

const TAG_RULE = "letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'";

/**
 * Reads a target. A folder or a file may hold ':' in its name: the text is split at a ':' only where
 * what follows names an image and what comes before exists (`exists`, the file system's unless a test
 * gives its own); otherwise the whole text is the path.
 */
export function parseImageTarget(text: string, exists: (path: string) => boolean = existsSync): ImageTarget {
  const m = /^(oci|oci-archive|docker-archive|docker-daemon):(.*)$/s.exec(text);
  if (!m) return { kind: 'registry', ref: registryRef(text.startsWith('docker://') ? text.slice('docker://'.length) : text, text) };
  const transport = m[1] as LocalTransport;
  const rest = m[2]!;
  if (!rest) throw new ImageTargetError(`"${text}" names no ${what(transport)}: write it as ${FORMS[transport]}.`);
  switch (transport) {
    case 'oci':
    case 'oci-archive':
      return layoutTarget(transport, rest, text, exists);
    case 'docker-archive':
      return archiveTarget(rest, text, exists);
    case 'docker-daemon':
      return daemonTarget(rest, text);
  }
}

const what = (transport: LocalTransport) => (transport === 'oci' ? 'folder' : transport === 'docker-daemon' ? 'image' : 'file');

function registryRef(ref: string, text: string): ImageRef {
  try {
    return parseImageRef(ref);
  } catch (err) {
    throw new ImageTargetError(
      `"${text}" is neither an image reference ([registry/]repository[:tag][@sha256:...]) nor a local image (${Object.values(FORMS).join(', ')}).`,
      { cause: err },
    );
  }
}

/** `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`: split at the last ':' when a tag follows and what precedes it exists. */
function layoutTarget(transport: 'oci' | 'oci-archive', rest: string, text: string, exists: (path: string) => boolean): LocalImageTarget {
  const target = { kind: 'local', transport, text } as const;
  const colon = rest.lastIndexOf(':');
  const before = rest.slice(0, colon);
  const after = rest.slice(colon + 1);
  if (colon > 0 && exists(before)) {
    if (isTag(after)) return { ...target, path: before, tag: after };
    // The path exists without what follows its last ':', and the whole does not: that part was meant as a tag.
    if (!exists(rest)) {
      throw new ImageTargetError(
        after ? `"${text}" ends in "${after}", which is not a tag (${TAG_RULE}).` : `"${text}" ends in ':' with no tag after it.`,
      );
    }
  }
  if (colon === 0) throw new ImageTargetError(`"${text}" names no ${what(transport)}: write it as ${FORMS[transport]}.`);
  return { ...target, path: rest };
}

/**
 * `docker-archive:FILE[:NAME:TAG|:@N]`: the whole is the file if it exists; else the first ':' after
 * an existing file that a name or @N follows; else, as skopeo reads it, the first ':'.
 */
function archiveTarget(rest: string, text: string, exists: (path: string) => boolean): LocalImageTarget {
  const target = { kind: 'local', transport: 'docker-archive', text } as const;
  if (exists(rest)) return { ...target, path: rest };
  const colons = [...rest.matchAll(/:/g)].map((c) => c.index).filter((i) => i > 0);
  const split = colons.find((i) => exists(rest.slice(0, i)) && isSelector(rest.slice(i + 1))) ?? colons[0];
  if (split === undefined) {
    if (rest.startsWith(':')) throw new ImageTargetError(`"${text}" names no file: write it as ${FORMS['docker-archive']}.`);
    return { ...target, path: rest };
  }
  const selector = rest.slice(split + 1);
  if (!isSelector(selector)) {
    throw new ImageTargetError(
      `"${text}" ends in "${selector}", which names no image of an archive: write NAME[:TAG] as docker save lists it, or @N for its N-th image (from 0).`,
    );
  }
  return { ...target, path: rest.slice(0, split), tag: selector };
}

/** An image of a docker save archive: @N (its position, from 0), or a name with an optional tag and no digest. */
function isSelector(text: string): boolean {
  if (/^@\d{1,9}$/.test(text)) return true;
  if (text.includes('@')) return false;
  try {
    parseImageRef(text);
    return true;
  } catch {
    return false;
  }
}

/** `docker-daemon:NAME[:TAG]`: an image of the engine's store, by name (a digest or an image id is not taken here). */
function daemonTarget(rest: string, text: string): LocalImageTarget {
  if (rest.includes('@') || /^sha256:/.test(rest)) {
    throw new ImageTargetError(`"${text}" names an image by digest: docker-daemon: takes ${FORMS['docker-daemon']}.`);
  }
  try {
    parseImageRef(rest);
  } catch (err) {
    throw new ImageTargetError(`"${text}": "${rest}" is not an image name (write it as ${FORMS['docker-daemon']}).`, { cause: err });
  }
  const colon = rest.lastIndexOf(':');
  const tagged = colon > rest.lastIndexOf('/');
  return {
    kind: 'local',
    transport: 'docker-daemon',
    text,
    path: tagged ? rest.slice(0, colon) : rest,
    ...(tagged ? { tag: rest.slice(colon + 1) } : {}),
  };
}
