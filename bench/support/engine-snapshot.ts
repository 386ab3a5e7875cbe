/**
 * What is on a Docker engine, for the soak (bench/soak.ts): containers, networks, volumes, images
 * (ID and name) and buildx builders, each an item with a stable key, so that two snapshots can be
 * compared set against set. Several engines go into one snapshot (the main one, the second engine
 * with the classic store), each item's key starting with the engine's name. A kind that could not
 * be read (the engine was restarting, a command timed out) is recorded as unreadable: its items
 * are unknown, not gone, and diff() leaves that kind out.
 */
import { $ } from 'zx';
import { PID_LABEL, SESSION_LABEL } from '../../harness/session/session.ts';

type ItemKind = 'container' | 'network' | 'volume' | 'image' | 'builder' | 'record' | 'scratch';

export interface Item {
  /** `${engine} ${kind} ${identity}`: what two snapshots are compared by. */
  key: string;
  engine: string;
  kind: ItemKind;
  /** The container, network or image ID; the volume, builder or record name. */
  id: string;
  /** The container, network or image name (repo:tag@digest), where it has one. */
  name?: string;
  /** For people: names, image, labels, state. */
  what: string;
  /** The harness's labels, where the item carries them. */
  run?: string;
  pid?: number;
  /** For a session record: what it lists (image references, builder names). */
  refs?: string[];
}

export interface Snapshot {
  items: Map<string, Item>;
  /** `${engine}/${kind}` that could not be read this time. */
  unreadable: Set<string>;
}

export interface EngineTarget {
  /** Short name used in keys and output: "engine", "classic". */
  name: string;
  /** DOCKER_HOST for this engine; undefined: the environment's (the default engine). */
  host: string | undefined;
}

/** zx's $ for one engine: no throwing, no echo, bounded (ms). */
function docker(target: EngineTarget, timeout = 60_000) {
  const env = { ...process.env, ...(target.host ? { DOCKER_HOST: target.host } : {}) };
  return $({ env, nothrow: true, quiet: true, timeout });
}

/** Does an engine answer `docker info` within a few seconds? */
export async function engineAnswers(target: EngineTarget, timeout = 15_000): Promise<boolean> {
  const r = await docker(target, timeout)`docker info --format ${'{{.ID}}'}`;
  return r.exitCode === 0 && r.stdout.trim() !== '';
}

function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t'));
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

async function readKind(target: EngineTarget, kind: ItemKind): Promise<Item[] | undefined> {
  const item = (id: string, what: string, extra: Partial<Item> = {}): Item => ({
    key: `${target.name} ${kind} ${id}`,
    engine: target.name,
    kind,
    id,
    what,
    ...extra,
  });
  const $d = docker(target);
  switch (kind) {
    case 'container': {
      const format = [
        '{{.ID}}',
        '{{.Names}}',
        '{{.Image}}',
        '{{.State}}',
        `{{.Label "${SESSION_LABEL}"}}`,
        `{{.Label "${PID_LABEL}"}}`,
      ].join('\t');
      const r = await $d`docker ps -a --no-trunc --format ${format}`;
      if (r.exitCode !== 0) return undefined;
      return rows(r.stdout).map(([id = '', name = '', image = '', state = '', run = '', pid = '']) =>
        item(id, `${short(id)} ${name} (image ${image}, ${state}${run ? `, run ${run} pid ${pid}` : ''})`, {
          name,
          ...(run ? { run } : {}),
          ...(pid && Number.isInteger(Number(pid)) ? { pid: Number(pid) } : {}),
        }),
      );
    }
    case 'network': {
      const format = ['{{.ID}}', '{{.Name}}', '{{.Driver}}', `{{.Label "${SESSION_LABEL}"}}`].join('\t');
      const r = await $d`docker network ls --no-trunc --format ${format}`;
      if (r.exitCode !== 0) return undefined;
      return rows(r.stdout).map(([id = '', name = '', driver = '', run = '']) =>
        item(id, `${short(id)} ${name} (${driver}${run ? `, run ${run}` : ''})`, { name, ...(run ? { run } : {}) }),
      );
    }
    case 'volume': {
      const format = ['{{.Name}}', '{{.Driver}}', `{{.Label "${SESSION_LABEL}"}}`].join('\t');
      const r = await $d`docker volume ls --format ${format}`;
      if (r.exitCode !== 0) return undefined;
      return rows(r.stdout).map(([name = '', driver = '', run = '']) =>
        item(name, `${name} (${driver}${run ? `, run ${run}` : ''})`, { name, ...(run ? { run } : {}) }),
      );
    }
    case 'image': {
      // `docker images --no-trunc -q` lists the same IDs; the name is what tells a pulled or built image apart.
      const format = ['{{.ID}}', '{{.Repository}}', '{{.Tag}}', '{{.Digest}}'].join('\t');
      const r = await $d`docker image ls --all --no-trunc --format ${format}`;
      if (r.exitCode !== 0) return undefined;
      return rows(r.stdout).map(([id = '', repo = '', tag = '', digest = '']) => {
        const name = imageName(repo, tag, digest);
        return { ...item(`${id} ${name}`, `${name} (ID ${short(id)})`, { name }), id };
      });
    }
    case 'builder': {
      const r = await $d`docker buildx ls --format ${'{{.Name}}'}`;
      if (r.exitCode !== 0) return undefined;
      const names = new Set(
        r.stdout
          .split('\n')
          .map((l) =>
            l
              .replace(/^[\s\\_]+/, '')
              .replace(/\*$/, '')
              .trim(),
          )
          .filter(Boolean),
      );
      return [...names].map((n) => item(n, n, { name: n }));
    }
    case 'record':
    case 'scratch':
      return [];
  }
}

/** repo:tag@digest, leaving out what docker shows as <none>. */
function imageName(repo: string, tag: string, digest: string): string {
  const none = (s: string) => !s || s === '<none>';
  return `${none(repo) ? '<none>' : repo}${none(tag) ? '' : `:${tag}`}${none(digest) ? '' : `@${digest}`}`;
}

const ENGINE_KINDS: ItemKind[] = ['container', 'network', 'volume', 'image', 'builder'];

/** Everything on these engines, plus any items the caller adds (the harness's session records). */
export async function takeSnapshot(targets: readonly EngineTarget[], extra: () => Item[] = () => []): Promise<Snapshot> {
  const items = new Map<string, Item>();
  const unreadable = new Set<string>();
  await Promise.all(
    targets.flatMap((t) =>
      ENGINE_KINDS.map(async (kind) => {
        const got = await readKind(t, kind);
        if (!got) unreadable.add(`${t.name}/${kind}`);
        else for (const i of got) items.set(i.key, i);
      }),
    ),
  );
  for (const i of extra()) items.set(i.key, i);
  return { items, unreadable };
}

export interface SnapshotDiff {
  added: Item[];
  removed: Item[];
  /** Kinds left out because one side could not read them. */
  skipped: string[];
}

export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotDiff {
  const skipped = [...new Set([...before.unreadable, ...after.unreadable])].sort();
  const known = (i: Item) => !skipped.includes(`${i.engine}/${i.kind}`);
  const added = [...after.items.values()].filter((i) => known(i) && !before.items.has(i.key));
  const removed = [...before.items.values()].filter((i) => known(i) && !after.items.has(i.key));
  const order = (a: Item, b: Item) => a.key.localeCompare(b.key);
  return { added: added.sort(order), removed: removed.sort(order), skipped };
}

/** "engine: + container 1a2b3c4d5e6f mah-...-run-... (image ..., exited, run mah-... pid 123)" */
export function describeItem(sign: '+' | '-' | ' ', i: Item): string {
  return `${i.engine}: ${sign} ${i.kind} ${i.what}`;
}
