/**
 * Registration results waiting to be saved (written back to the configuration file through
 * the client's callback), merged while a save fails and retried by the next flush.
 */
import type { WriteBackValues } from '../config/types';
import { ERROR_CODES, OxdConfigError, OxdError } from '../errors';

/** Saves registration results (oxd id, client credentials, protection token). */
export type SaveRegistration = (values: WriteBackValues) => Promise<void>;

/** Merges values to save, leaving out unset keys and empty sections. */
function mergeValues(a: WriteBackValues | undefined, b: WriteBackValues): WriteBackValues {
  const section = <T extends object>(x: T | undefined, y: T | undefined): T | undefined => {
    const merged = Object.fromEntries(
      Object.entries({ ...x, ...y }).filter(([, v]) => v !== undefined),
    ) as T;
    return Object.keys(merged).length > 0 ? merged : undefined;
  };
  const oxd = section(a?.oxd, b.oxd);
  const client = section(a?.client, b.client);
  return { ...(oxd ? { oxd } : {}), ...(client ? { client } : {}) };
}

/**
 * Registration results not yet saved. A failed save keeps them queued (merged with later
 * ones) and is retried by the next flush.
 */
export class PendingWrites {
  private pending: WriteBackValues | undefined;

  /**
   * @param save the caller's callback; without one, results live in memory only.
   * @param file the configuration file, named in the error when saving fails.
   */
  constructor(
    private save: SaveRegistration | undefined,
    private readonly file: string | undefined,
  ) {}

  get hasPending(): boolean {
    return this.pending !== undefined;
  }

  add(values: WriteBackValues): void {
    this.pending = mergeValues(this.pending, values);
  }

  /** From now on nothing is saved: results live in memory only. */
  keepInMemory(): void {
    this.save = undefined;
    this.pending = undefined;
  }

  /** Saves what is queued; on failure it stays queued and the error is thrown. */
  async flush(): Promise<void> {
    const values = this.pending;
    if (!values) return;
    if (!this.save) {
      this.pending = undefined;
      return;
    }
    try {
      await this.save(values);
    } catch (cause) {
      if (cause instanceof OxdError) throw cause;
      throw new OxdConfigError(
        `could not write the oxd registration back${this.file ? ` to ${this.file}` : ''}: ` +
          `${cause instanceof Error ? cause.message : String(cause)}; check that the file is writable`,
        { code: ERROR_CODES.CONFIG_WRITE_FAILED, file: this.file },
        { cause },
      );
    }
    if (this.pending === values) this.pending = undefined;
  }
}
