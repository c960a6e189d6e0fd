/**
 * HTTP requests written byte for byte on a plain socket, for what an HTTP client would refuse
 * to send or would normalise (raw bytes in a header, a request target left as it is).
 */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 request written byte by byte on a socket: `path` goes on the request line as
 * given, `authorization` (when given) is sent as raw UTF-8 bytes, whatever it contains, and
 * `headers` follow as they are, so tests can send what an HTTP client would refuse or rewrite.
 */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  authorization?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: text.slice(split + 4),
      });
    });
    const extra = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    const head = Buffer.from(
      `${method} ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n${extra}`,
      'latin1',
    );
    const auth =
      authorization === undefined
        ? Buffer.alloc(0)
        : Buffer.concat([
            Buffer.from('Authorization: ', 'latin1'),
            typeof authorization === 'string' ? Buffer.from(authorization, 'utf8') : authorization,
            Buffer.from('\r\n', 'latin1'),
          ]);
    socket.write(Buffer.concat([head, auth, Buffer.from('\r\n', 'latin1')]));
  });
}
