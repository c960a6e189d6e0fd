/** Listening and closing helpers shared by the local OP and the local oxd server. */
import type { Server } from 'node:net';

/** Starts `server` on `host:port`; rejects with the listen error (EADDRINUSE, …). */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * libuv releases a closed handle in the close phase of the event loop, after the check phase
 * that runs immediates: two immediates later, the listening socket is really gone.
 */
export function handlesReleased(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
