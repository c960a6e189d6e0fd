/**
 * In-memory storage for one local OP instance (oidc-provider's adapter interface). Each
 * `startLocalOp()` gets its own store, so instances never share sessions or tokens. Expired
 * entries are dropped when read and swept now and then on write, without timers. Entries of
 * the models named in {@link Persistence} are also handed to it after every change.
 */

export type Payload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
};

/** One stored entry as persisted: `expiresAt` in epoch ms, `null` for no expiry. */
export interface StoredEntry {
  key: string;
  payload: Payload;
  expiresAt: number | null;
}

/** Keeps some models (e.g. registered clients) beyond the life of the process. */
export interface Persistence {
  /** Model names whose entries are persisted, e.g. `Client`. */
  models: ReadonlySet<string>;
  /** Entries saved earlier, loaded into the store at start. */
  restore: readonly StoredEntry[];
  /** Saves every current entry of `models`; awaited before the change is acknowledged. */
  save(entries: StoredEntry[]): Promise<void>;
}

interface Entry {
  payload: Payload;
  /** Epoch milliseconds; `Infinity` when the model has no expiry. */
  expiresAt: number;
}

const SWEEP_EVERY_WRITES = 200;

/** Models whose entries are revoked together when their grant is revoked. */
const GRANT_BOUND_MODELS = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

class MemoryStore {
  readonly #entries = new Map<string, Entry>();
  readonly #sessionByUid = new Map<string, string>();
  readonly #idByUserCode = new Map<string, string>();
  readonly #keysByGrant = new Map<string, Set<string>>();
  #writes = 0;

  get(key: string): Payload | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  set(key: string, payload: Payload, expiresInSeconds: number | undefined): void {
    const expiresAt =
      typeof expiresInSeconds === 'number' ? Date.now() + expiresInSeconds * 1000 : Infinity;
    this.#entries.set(key, { payload, expiresAt });
    this.#writes += 1;
    if (this.#writes % SWEEP_EVERY_WRITES === 0) this.#sweep();
  }

  delete(key: string): Payload | undefined {
    const entry = this.#entries.get(key);
    this.#entries.delete(key);
    return entry?.payload;
  }

  indexSessionUid(uid: string, id: string): void {
    this.#sessionByUid.set(uid, id);
  }

  sessionIdForUid(uid: string): string | undefined {
    return this.#sessionByUid.get(uid);
  }

  indexUserCode(userCode: string, id: string): void {
    this.#idByUserCode.set(userCode, id);
  }

  idForUserCode(userCode: string): string | undefined {
    return this.#idByUserCode.get(userCode);
  }

  addToGrant(grantId: string, key: string): void {
    let keys = this.#keysByGrant.get(grantId);
    if (keys === undefined) {
      keys = new Set();
      this.#keysByGrant.set(grantId, keys);
    }
    keys.add(key);
  }

  takeGrant(grantId: string): Set<string> {
    const keys = this.#keysByGrant.get(grantId) ?? new Set<string>();
    this.#keysByGrant.delete(grantId);
    return keys;
  }

  /** Loads saved entries, skipping those that expired meanwhile. */
  restore(entries: readonly StoredEntry[]): void {
    const now = Date.now();
    for (const { key, payload, expiresAt } of entries) {
      const expires = expiresAt ?? Infinity;
      if (expires > now) this.#entries.set(key, { payload, expiresAt: expires });
    }
  }

  /** The live entries of the given models. */
  snapshot(models: ReadonlySet<string>): StoredEntry[] {
    const now = Date.now();
    const entries: StoredEntry[] = [];
    for (const [key, entry] of this.#entries) {
      if (!models.has(key.slice(0, key.indexOf(':'))) || entry.expiresAt <= now) continue;
      const expiresAt = Number.isFinite(entry.expiresAt) ? entry.expiresAt : null;
      entries.push({ key, payload: entry.payload, expiresAt });
    }
    return entries;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
    for (const [uid, id] of this.#sessionByUid) {
      if (!this.#entries.has(`Session:${id}`)) this.#sessionByUid.delete(uid);
    }
    for (const [code, key] of this.#idByUserCode) {
      if (!this.#entries.has(key)) this.#idByUserCode.delete(code);
    }
    for (const [grantId, keys] of this.#keysByGrant) {
      for (const key of keys) if (!this.#entries.has(key)) keys.delete(key);
      if (keys.size === 0) this.#keysByGrant.delete(grantId);
    }
  }
}

/** One model's view of a {@link MemoryStore}, with the methods oidc-provider calls. */
class MemoryAdapter {
  readonly #model: string;
  readonly #store: MemoryStore;
  readonly #persistence: Persistence | undefined;

  constructor(model: string, store: MemoryStore, persistence?: Persistence) {
    this.#model = model;
    this.#store = store;
    this.#persistence = persistence?.models.has(model) ? persistence : undefined;
  }

  async #persist(): Promise<void> {
    if (this.#persistence !== undefined) {
      await this.#persistence.save(this.#store.snapshot(this.#persistence.models));
    }
  }

  #key(id: string): string {
    return `${this.#model}:${id}`;
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const key = this.#key(id);
    this.#store.set(key, payload, expiresIn);
    if (this.#model === 'Session' && typeof payload.uid === 'string') {
      this.#store.indexSessionUid(payload.uid, id);
    }
    if (typeof payload.userCode === 'string') this.#store.indexUserCode(payload.userCode, key);
    if (GRANT_BOUND_MODELS.has(this.#model) && typeof payload.grantId === 'string') {
      this.#store.addToGrant(payload.grantId, key);
    }
    await this.#persist();
  }

  async find(id: string): Promise<Payload | undefined> {
    return this.#store.get(this.#key(id));
  }

  async findByUid(uid: string): Promise<Payload | undefined> {
    const id = this.#store.sessionIdForUid(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<Payload | undefined> {
    const key = this.#store.idForUserCode(userCode);
    return key === undefined ? undefined : this.#store.get(key);
  }

  async consume(id: string): Promise<void> {
    const payload = this.#store.get(this.#key(id));
    if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    if (this.#store.delete(this.#key(id)) !== undefined) await this.#persist();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of this.#store.takeGrant(grantId)) this.#store.delete(key);
  }
}

/** The `adapter` factory for one OP instance: every model shares the same fresh store. */
export function createMemoryAdapterFactory(
  persistence?: Persistence,
): (model: string) => MemoryAdapter {
  const store = new MemoryStore();
  if (persistence !== undefined) store.restore(persistence.restore);
  return (model) => new MemoryAdapter(model, store, persistence);
}
