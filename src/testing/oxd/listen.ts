/** Listening and closing helpers shared by the socket and HTTPS servers. */
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

/** Closed handles are released in the loop's close phase, after the next immediates. */
export function handlesReleased(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
