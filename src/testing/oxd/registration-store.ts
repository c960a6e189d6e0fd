/**
 * The sites (oxd registrations) of the local oxd server, kept in memory and persisted to
 * `<dataDir>/registrations.json` so they survive a restart. Writes go to a temp file that
 * is renamed over the old one, one write at a time.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** One registered site: an OP client plus what oxd remembers about it. */
export interface Site {
  oxd_id: string;
  op_host: string;
  client_id: string;
  client_secret?: string | undefined;
  client_registration_access_token?: string | undefined;
  client_registration_client_uri?: string | undefined;
  client_id_issued_at?: number | undefined;
  client_secret_expires_at?: number | undefined;
  client_name?: string | undefined;
  /** First entry = default authorization redirect URI. */
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  response_types: string[];
  grant_types: string[];
  scope: string[];
  acr_values: string[];
  claims_redirect_uri: string[];
  client_frontchannel_logout_uris: string[];
  token_endpoint_auth_method: string;
  /** True for the setup client `setup_client` creates (3.x). */
  setup_client: boolean;
  /** The setup client that protects this site's commands (3.x). */
  setup_oxd_id?: string | undefined;
  /** The last ID token get_tokens_by_code obtained (oxd 3.1.3's logout default). */
  id_token?: string | undefined;
  /** The other metadata the site was registered with, resent on update_site. */
  metadata: Record<string, unknown>;
}

interface StoredFile {
  version: 1;
  sites: Record<string, Site>;
  uma?: unknown;
}

export const REGISTRATIONS_FILE = 'registrations.json';

export class RegistrationStore {
  private readonly file: string;
  private readonly sites = new Map<string, Site>();
  private uma: unknown;
  private writing: Promise<void> = Promise.resolve();
  private umaSnapshot: (() => unknown) | undefined;

  private constructor(dataDir: string) {
    this.file = path.join(dataDir, REGISTRATIONS_FILE);
  }

  /** Opens (or starts) the store in `dataDir`; a corrupt file is an error, not a reset. */
  static async open(dataDir: string): Promise<RegistrationStore> {
    await fs.mkdir(dataDir, { recursive: true });
    const store = new RegistrationStore(dataDir);
    let text: string | undefined;
    try {
      text = await fs.readFile(store.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      let parsed: StoredFile;
      try {
        parsed = JSON.parse(text) as StoredFile;
      } catch (err) {
        throw new Error(
          `${store.file} is not valid JSON; fix or delete it to start with no registrations`,
          { cause: err },
        );
      }
      for (const site of Object.values(parsed.sites ?? {})) store.sites.set(site.oxd_id, site);
      store.uma = parsed.uma;
    }
    return store;
  }

  /** The UMA state read from the file (for the AS to restore). */
  get savedUmaState(): unknown {
    return this.uma;
  }

  /** Where the UMA AS state comes from when the file is written. */
  setUmaSnapshot(snapshot: () => unknown): void {
    this.umaSnapshot = snapshot;
  }

  get(oxdId: string): Site | undefined {
    return this.sites.get(oxdId);
  }

  all(): Site[] {
    return [...this.sites.values()];
  }

  async put(site: Site): Promise<void> {
    this.sites.set(site.oxd_id, site);
    await this.save();
  }

  async remove(oxdId: string): Promise<boolean> {
    const existed = this.sites.delete(oxdId);
    if (existed) await this.save();
    return existed;
  }

  /** Persists the current state; concurrent calls are serialised, the last one wins. */
  save(): Promise<void> {
    const next = this.writing.then(() => this.writeNow());
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async writeNow(): Promise<void> {
    const content: StoredFile = {
      version: 1,
      sites: Object.fromEntries(this.sites),
      uma: this.umaSnapshot ? this.umaSnapshot() : this.uma,
    };
    const temp = `${this.file}.${process.pid}.tmp`;
    await fs.writeFile(temp, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
    await fs.rename(temp, this.file);
  }

  /** Waits for pending writes. */
  async flush(): Promise<void> {
    await this.writing;
  }
}
