/**
 * A logger for the `logger` options that keeps what it is told, so that a test can assert
 * the failures the middleware logs (and a passing run prints nothing).
 */
export type LogLine = [level: 'warn' | 'error', message: string, fields: Record<string, unknown>];

export interface CapturingLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  readonly lines: LogLine[];
  /** `[level, code, operation, status, cause]` of each line, for compact assertions. */
  summary(): [string, unknown, unknown, unknown, unknown][];
  clear(): void;
}

export function capturingLogger(): CapturingLogger {
  const lines: LogLine[] = [];
  return {
    lines,
    warn: (message, fields = {}) => lines.push(['warn', message, fields]),
    error: (message, fields = {}) => lines.push(['error', message, fields]),
    summary: () => lines.map(([level, , f]) => [level, f.code, f.operation, f.status, f.cause]),
    clear: () => {
      lines.length = 0;
    },
  };
}
