/**
 * What the local OP keeps on disk when given a `dataDir`: its registered clients with their
 * registration access tokens (`clients.json`) and its ID token signing keys
 * (`signing-keys.json`, mode 0600). Sessions and tokens stay in memory: after a restart users
 * sign in again, but clients registered earlier (e.g. by an oxd server that persists its own
 * registrations) keep working. Writes go to a temp file renamed over the old one, one at a time.
 */
import type { JsonWebKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { Persistence, StoredEntry } from './memory-adapter';

const CLIENTS_FILE = 'clients.json';
const KEYS_FILE = 'signing-keys.json';
const PERSISTED_MODELS: ReadonlySet<string> = new Set(['Client', 'RegistrationAccessToken']);

interface ClientsFile {
  version: 1;
  entries: StoredEntry[];
}

interface KeysFile {
  version: 1;
  keys: JsonWebKey[];
}

export class OpDataDir {
  readonly #dir: string;
  #writing: Promise<void> = Promise.resolve();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** Creates the directory when missing. */
  static async open(dir: string): Promise<OpDataDir> {
    if (typeof dir !== 'string' || dir === '') {
      throw new TypeError('startLocalOp: dataDir must be a directory path');
    }
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    return new OpDataDir(dir);
  }

  /** Adapter persistence for the clients, loaded from `clients.json`. */
  async persistence(): Promise<Persistence> {
    const file = path.join(this.#dir, CLIENTS_FILE);
    const saved = await readJson<ClientsFile>(file);
    if (saved !== undefined && !Array.isArray(saved.entries)) {
      throw new Error(`${file} has no "entries" list; fix or delete it to start with no clients`);
    }
    return {
      models: PERSISTED_MODELS,
      restore: saved?.entries ?? [],
      save: (entries) => this.#write(file, { version: 1, entries } satisfies ClientsFile),
    };
  }

  /** The saved signing keys, or new ones from `create()`, saved for the next start. */
  async signingKeys(create: () => Promise<JsonWebKey[]>): Promise<JsonWebKey[]> {
    const file = path.join(this.#dir, KEYS_FILE);
    const saved = await readJson<KeysFile>(file);
    if (saved !== undefined) {
      if (!Array.isArray(saved.keys) || saved.keys.length === 0) {
        throw new Error(`${file} has no "keys" list; fix or delete it to create new keys`);
      }
      return saved.keys;
    }
    const keys = await create();
    await this.#write(file, { version: 1, keys } satisfies KeysFile);
    return keys;
  }

  /** Resolves once every write started so far has finished. */
  flush(): Promise<void> {
    return this.#writing;
  }

  #write(file: string, content: unknown): Promise<void> {
    const text = `${JSON.stringify(content, null, 2)}\n`;
    const next = this.#writing.then(async () => {
      const temp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(temp, text, { mode: 0o600 });
      await fs.rename(temp, file);
    });
    this.#writing = next.catch(() => undefined);
    return next;
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new Error(`${file} is not valid JSON; fix or delete it`, { cause });
  }
}
