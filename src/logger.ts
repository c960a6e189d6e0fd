import { hasMethods } from './option-check';

/**
 * Where the package reports what an operator should see (a secret in a readable file, oxd
 * reached over a network in clear): an object with `warn(message, fields)` and
 * `error(message, fields)`, as `console` and winston have them. Default `console`.
 */
export interface Logger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** `console`, without an empty fields argument. */
export const consoleLogger: Logger = {
  warn: (message, fields) =>
    fields === undefined ? console.warn(message) : console.warn(message, fields),
  error: (message, fields) =>
    fields === undefined ? console.error(message) : console.error(message, fields),
};

/** The methods an object needs to serve as a {@link Logger}. */
export const LOGGER_METHODS = ['warn', 'error'] as const;

/** The given logger, checked, or {@link consoleLogger}. */
export function loggerOf(logger: unknown, where: string): Logger {
  if (logger === undefined) return consoleLogger;
  if (!hasMethods(logger, LOGGER_METHODS)) {
    throw new TypeError(
      `${where} logger must be an object with warn(message, fields) and error(message, fields), such as console`,
    );
  }
  return logger as Logger;
}
