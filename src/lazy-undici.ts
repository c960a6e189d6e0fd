/**
 * undici, loaded on first use. It is about 110 modules: an application talking to oxd over
 * the socket, without UMA calls, never loads it, and starts that much sooner.
 */
type Undici = typeof import('undici');

let loaded: Undici | undefined;

export function undici(): Undici {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('undici') as Undici;
  return loaded;
}
