/**
 * `verify … --against NAME@latest`: the newest snapshot of NAME in the store whose signatures
 * satisfy the keys or the policy (and that is not revoked or expired) — but never an older one than
 * the newest trusted snapshot of NAME this machine has already seen (the trusted state's `latest`,
 * trust/state.ts), as a TUF client never accepts older metadata than it has (theupdateframework
 * specification, 5.3.5 and 5.4.3 "Check for a rollback attack"). A store that hides its newest
 * snapshot (removed, or its signature spoiled) is noticed: `SNAPSHOT_ROLLBACK`, exit 1.
 *
 * What the machine has seen is kept per trust domain — a policy name, or a set of `--pubkey` keys
 * with a threshold — since a snapshot trusted under one set of keys says nothing under another.
 */
import { createHash } from 'node:crypto';
import { SnapError } from '../core/errors.js';
import { LATEST } from '../core/refs.js';
import type { TrustedKey } from '../core/envelope.js';
import { formatTime, type Statement } from '../core/statement.js';
import { listSnapshots, openStore, whatTheStoreHoldsInstead, type SnapshotInfo, type SnapshotLocation } from '../io/store.js';
import type { TrustCheck } from '../snapshot.js';
import type { VerifiedPolicy } from './policy-trust.js';
import { MAX_LATEST_STORES, MAX_VERSIONS_KEPT, MAX_VERSIONS_TOTAL, type LatestMemory, type TrustedState } from './state.js';

/** The version word that asks for the newest trusted snapshot (kept in core/refs.ts, where io reads it too). */
export { LATEST };

/**
 * Refuse `latest` as the VERSION of a new snapshot: `NAME@latest` asks for the newest trusted one.
 * @throws SnapError `USAGE`
 */
export function refuseReservedVersion(version: string): void {
  if (version === LATEST) throw new SnapError('USAGE', `"${LATEST}" is reserved: NAME@${LATEST} names the newest trusted snapshot of NAME; choose another VERSION`);
}

/** True when a ref is `NAME@latest`. */
export function isLatestRef(text: string): boolean {
  return /^[a-z0-9][a-z0-9._-]{0,127}@latest$/.test(text);
}

/** The trust domain of a verification (see the module comment). */
export function trustDomain(trusted: readonly TrustedKey[], threshold: number, policy: VerifiedPolicy | undefined): string {
  const parts: string[] = [];
  if (policy) parts.push(`policy:${policy.policy.name}`);
  if (trusted.length > 0) {
    const ids = [...new Set(trusted.map((k) => k.keyid))].sort().join(',');
    parts.push(`keys:${createHash('sha256').update(ids).digest('hex').slice(0, 32)}/${threshold}`);
  }
  return parts.join('+');
}

/** What {@link resolveLatest} found. */
export interface LatestResult {
  /** The snapshot chosen, when there is one that may be used. */
  location?: SnapshotLocation;
  /** Why none may be used: `SNAPSHOT_ROLLBACK`, or the trust failure of the newest snapshot. */
  failure?: { code: string; message: string };
  /** The newest snapshot this machine had seen before, if any. */
  seen?: LatestMemory;
  /** How many snapshots of NAME were tried, newest first, before one was trusted. */
  tried: number;
}

/**
 * Choose the snapshot `NAME@latest` names (see the module comment). Each candidate, newest first by
 * its createdAt, is checked with `check` (signatures and the trust rules); the first that passes
 * is taken, and compared with what the machine has seen.
 * @throws SnapError `NOT_FOUND` (no store) | `REF_NOT_FOUND` (no snapshot of NAME at all)
 */
export async function resolveLatest(name: string, storeRoot: string, check: (loc: SnapshotLocation) => Promise<TrustCheck>, seen: LatestMemory | undefined): Promise<LatestResult> {
  const store = await openStore(storeRoot);
  const all = (await listSnapshots(store, name)).filter((s) => s.name === name);
  if (all.length === 0) throw new SnapError('REF_NOT_FOUND', `no snapshot of ${name} in ${store.root}${await whatTheStoreHoldsInstead(store, name)}`, { ref: `${name}@${LATEST}` });
  const loc = (s: SnapshotInfo): SnapshotLocation => ({ dir: s.dir, name: s.name, version: s.version, ref: `${s.name}@${s.version}` });
  let firstFailure: TrustCheck['failure'];
  let tried = 0;
  let seenFailure: TrustCheck['failure'];
  let pick: { info: SnapshotInfo; trust: TrustCheck } | undefined;
  const newestFirst = [...all].reverse();
  for (const s of newestFirst) {
    tried++;
    const t = await check(loc(s));
    if (t.ok && t.statement) {
      pick = { info: s, trust: t };
      break;
    }
    firstFailure ??= t.failure;
    if (seen && s.version === seen.version) seenFailure = t.failure;
  }
  const seenPart = seen ? { seen } : {};
  const createdAt = pick?.trust.statement?.predicate.createdAt;
  let older = seen && (createdAt === undefined || createdAt < seen.createdAt || (createdAt === seen.createdAt && pick?.trust.snapshot !== seen.snapshot));
  if (older && seen && pick && createdAt === seen.createdAt) {
    // Two snapshots of one second (createdAt has whole seconds): neither is older than the other.
    // The store hides nothing when the one this machine has seen is still there, trusted and as
    // signed; else (removed, or no longer trusted) the choice of the other is a rollback as above.
    const there = newestFirst.find((s) => s.version === seen.version && s !== pick?.info);
    if (there) {
      const t = await check(loc(there));
      if (t.ok && t.statement && t.snapshot === seen.snapshot && t.statement.predicate.createdAt === seen.createdAt) older = false;
      else seenFailure = t.failure;
    }
  }
  if (older && seen) {
    const now = pick ? `the newest trusted one in the store is ${pick.info.name}@${pick.info.version} (created ${createdAt})` : 'no snapshot of it in the store is trusted';
    const why = seenFailure ? `; ${name}@${seen.version} is there but refused: ${seenFailure.message} [${seenFailure.code}]` : `; ${name}@${seen.version} is not in the store, or not as signed`;
    return {
      failure: { code: 'SNAPSHOT_ROLLBACK', message: `this machine has trusted ${name}@${seen.version} (${seen.snapshot}, created ${seen.createdAt}), but ${now}${why}: the store may be hiding its newest snapshot` },
      ...seenPart,
      tried,
    };
  }
  if (!pick) return { failure: firstFailure ?? { code: 'SIGNATURE_INVALID', message: `no snapshot of ${name} is trusted` }, ...seenPart, tried };
  return { location: { ...loc(pick.info), ref: `${name}@${LATEST}` }, ...seenPart, tried };
}

/**
 * A trusted snapshot of the very version this machine remembers (`seen`, the trusted state's
 * newest of NAME in the trust domain) that is another snapshot: a store seals a NAME@VERSION once,
 * so one of the two took the other's name — most often the store's folder was replaced by a copy
 * from another store signed by the same keys (a staging store's unreviewed `ds@v2`), which needs no
 * key, and with the data folder written to match, verify passed it (exit 0) and the state forgot
 * the genuine one. As a policy of a version seen with other content (`POLICY_ROLLBACK`, reason
 * `same-version-different-content`; TUF 5.3.5's "same version, different content" is refused
 * too), it is refused: `SNAPSHOT_ROLLBACK`. Only in the store `seen` was verified in (`store`,
 * cli/commands/verify.ts `latestStoreKey`): separate stores may each seal a NAME@VERSION of their own
 * under the same keys. A machine that has not seen the version there cannot tell.
 * @returns the failure, or undefined when `seen` is of another version or store, or is this snapshot
 */
export function sameVersionOtherSnapshot(seen: LatestMemory | undefined, snapshot: string, statement: Statement, store: string | undefined): { code: 'SNAPSHOT_ROLLBACK'; message: string } | undefined {
  const p = statement.predicate;
  // Held to the store it was seen in: two stores may each seal a NAME@VERSION of their own under one key.
  if (!seen || store === undefined || seen.store !== store || seen.version !== p.version || seen.snapshot === snapshot) return undefined;
  const ref = `${p.dataset}@${p.version}`;
  return {
    code: 'SNAPSHOT_ROLLBACK',
    message: `this machine has trusted ${ref} as ${seen.snapshot} (created ${seen.createdAt}), and this ${ref} is another snapshot, ${snapshot} (created ${p.createdAt}), signed as the same version: a store seals a version once, so one took the other's name — the store's may have been replaced by a copy from another store signed by the same keys; if ${ref} was really sealed again, seal a new VERSION instead; if this path now holds another store (a workspace made anew), verify it with a trusted state of its own (--state-dir)`,
  };
}

/** A snapshot refused because this machine trusted its version as another snapshot (`SNAPSHOT_ROLLBACK`). */
export type RollbackFailure = NonNullable<ReturnType<typeof sameVersionOtherSnapshot>>;

/**
 * The failure of a trusted snapshot of a version this machine remembers as another snapshot in the
 * same trust domain, recorded from this store (`stores`: the names the store goes by,
 * cli/store-identity.ts `storeIdentities`; {@link recordedFor}, {@link sameVersionOtherSnapshot}),
 * or undefined. A state that cannot be read (undefined) remembers nothing. FORMAT.md §17.
 * @param snapshot the snapshot id (SHA-256 of the signed statement, `sha256:…`)
 * @param statement its signed statement
 */
export function replacedVersion(state: TrustedState | undefined, domain: string, snapshot: string, statement: Statement, stores: readonly string[]): RollbackFailure | undefined {
  for (const seen of recordedFor(state, domain, statement.predicate.dataset, stores).own) {
    const failure = sameVersionOtherSnapshot(seen, snapshot, statement, seen.store);
    if (failure) return failure;
  }
  return undefined;
}

/** What this machine recorded of a dataset in a trust domain, as a store is held to it ({@link recordedFor}). */
export interface Recorded {
  /**
   * The records made from this store, each with its `store` set, and each other version verified
   * from it (`versions`) as one: another snapshot of one of their versions there is refused.
   */
  own: LatestMemory[];
  /** The newest of `own` and of a `latest` record without a store (an earlier snap's: held to in every store): what NAME@latest there may not be older than. */
  held?: LatestMemory;
}

/**
 * What the trusted state recorded of dataset `name` in `domain` that a store is held to, the store
 * going by the keys `stores` (cli/commands/verify.ts `latestStoreKeys`: its path as given, and its
 * real path; none: no store): its own records under `latestByStore`, a `latest` record naming it (a
 * state written before `latestByStore`), and a `latest` record without a store (an earlier snap's,
 * which recorded every verify there: held to everywhere). What was recorded from another store says
 * nothing of this one: two stores may each seal a NAME@VERSION of their own under one key — and
 * verifying another store's newer NAME must not forget this one's (it did: one record per NAME,
 * and the other store's took its place).
 */
export function recordedFor(state: TrustedState | undefined, domain: string, name: string, stores: readonly string[]): Recorded {
  if (!state) return { own: [] };
  const records: LatestMemory[] = [];
  const top = state.latest[domain]?.[name];
  for (const store of new Set(stores)) {
    const mine = state.latestByStore?.[store]?.[domain]?.[name];
    if (mine) records.push({ ...mine, store });
    if (top && top.store === store) records.push(top);
  }
  const candidates = [...records, ...(top && top.store === undefined ? [top] : [])];
  let held: LatestMemory | undefined;
  for (const m of candidates) if (!held || m.createdAt > held.createdAt) held = m;
  const own = [...records];
  for (const m of records) for (const v of m.versions ?? []) if (v.version !== m.version) own.push({ snapshot: v.snapshot, version: v.version, createdAt: v.createdAt, seenAt: m.seenAt, ...(m.store !== undefined ? { store: m.store } : {}) });
  return { own, ...(held ? { held } : {}) };
}

/**
 * Remember a trusted snapshot found in the store `store` (cli/commands/verify.ts `latestStoreKey`)
 * as the newest of its dataset seen there in `domain`, under `latestByStore`, when it is newer than
 * what is remembered there, and its version among those verified there (`versions`; at most
 * {@link MAX_VERSIONS_KEPT}, the oldest recorded dropped beyond). A snapshot found in no store (an archive, a snapshot folder elsewhere)
 * is not remembered: it says nothing of any store (an archive of a staging store's newer NAME made
 * every store's NAME@latest a rollback). `latestByStore` keeps at most {@link MAX_LATEST_STORES}
 * stores: past that, the store whose newest record was seen longest ago is dropped (never `store`).
 * @returns true when the state changed
 */
export function rememberLatest(state: TrustedState, domain: string, snapshot: string, statement: Statement, now: Date, store: string): boolean {
  const p = statement.predicate;
  const byStore = (state.latestByStore ??= {});
  const byName = ((byStore[store] ??= {})[domain] ??= {});
  const m = byName[p.dataset];
  const newer = m === undefined || !(m.createdAt > p.createdAt || (m.createdAt === p.createdAt && m.snapshot === snapshot));
  const newest = newer || m === undefined ? { snapshot, version: p.version, createdAt: p.createdAt, seenAt: formatTime(now) } : { snapshot: m.snapshot, version: m.version, createdAt: m.createdAt, seenAt: m.seenAt };
  // A record written before `versions` held only the newest's version.
  const versions = [...(m?.versions ?? (m ? [{ version: m.version, snapshot: m.snapshot, createdAt: m.createdAt }] : []))];
  const at = versions.findIndex((v) => v.version === p.version);
  const knownVersion = at >= 0 && versions[at]?.snapshot === snapshot;
  if (!newer && knownVersion && m?.versions !== undefined) return false;
  if (!knownVersion) {
    if (at >= 0) versions.splice(at, 1);
    versions.push({ version: p.version, snapshot, createdAt: p.createdAt });
    // The oldest recorded dropped beyond the bound; never the newest's own version.
    while (versions.length > MAX_VERSIONS_KEPT) versions.splice(versions.findIndex((v) => v.version !== newest.version), 1);
  }
  byName[p.dataset] = { ...newest, versions };
  dropStoresSeenLongestAgo(byStore, store);
  dropRecordsOverTotal(byStore, byName[p.dataset] as LatestMemory);
  return true;
}

/**
 * Keep at most {@link MAX_VERSIONS_TOTAL} versions in `byStore` in all: past that, drop whole
 * records (a store's NAME in a trust domain), those seen longest ago first, never `keep` (the one
 * just written); a store or domain left empty goes too.
 */
function dropRecordsOverTotal(byStore: NonNullable<TrustedState['latestByStore']>, keep: LatestMemory): void {
  const records: { store: string; domain: string; name: string; m: LatestMemory }[] = [];
  let total = 0;
  for (const [store, byDomain] of Object.entries(byStore)) {
    for (const [domain, byName] of Object.entries(byDomain)) {
      for (const [name, m] of Object.entries(byName)) {
        records.push({ store, domain, name, m });
        total += m.versions?.length ?? 1;
      }
    }
  }
  if (total <= MAX_VERSIONS_TOTAL) return;
  records.sort((x, y) => (x.m.seenAt < y.m.seenAt ? -1 : x.m.seenAt > y.m.seenAt ? 1 : 0));
  for (const r of records) {
    if (total <= MAX_VERSIONS_TOTAL) break;
    if (r.m === keep) continue;
    total -= r.m.versions?.length ?? 1;
    const byDomain = byStore[r.store] as Record<string, Record<string, LatestMemory>>;
    delete (byDomain[r.domain] as Record<string, LatestMemory>)[r.name];
    if (Object.keys(byDomain[r.domain] as object).length === 0) delete byDomain[r.domain];
    if (Object.keys(byDomain).length === 0) delete byStore[r.store];
  }
}

/** Keep at most {@link MAX_LATEST_STORES} stores in `byStore`, dropping those whose newest record was seen longest ago (never `keep`). */
function dropStoresSeenLongestAgo(byStore: NonNullable<TrustedState['latestByStore']>, keep: string): void {
  const stores = Object.keys(byStore);
  if (stores.length <= MAX_LATEST_STORES) return;
  const lastSeen = (s: string): string => {
    let last = '';
    for (const byName of Object.values(byStore[s] ?? {})) for (const m of Object.values(byName)) if (m.seenAt > last) last = m.seenAt;
    return last;
  };
  const oldestFirst = stores.filter((s) => s !== keep).sort((x, y) => (lastSeen(x) < lastSeen(y) ? -1 : lastSeen(x) > lastSeen(y) ? 1 : 0));
  for (const s of oldestFirst.slice(0, stores.length - MAX_LATEST_STORES)) delete byStore[s];
}
