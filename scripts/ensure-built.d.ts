/** Types of scripts/ensure-built.js, for the test suite's build helper. */
export declare function ensureBuilt(options?: { log?: (line: string) => void }): boolean;
export declare function isFresh(): boolean;
