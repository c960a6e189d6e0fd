/**
 * A raw oxd socket connection for wire tests: writes whatever it is given, records every
 * byte the server sends and when it closed the connection.
 */
import { type Socket, connect } from 'node:net';
import { encodeFrame } from '../../src/oxd/framing';

export class RawOxdSocket {
  private received = Buffer.alloc(0);
  private ended = false;
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawOxdSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new RawOxdSocket(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private until(done: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 20_000);
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  write(data: string): void {
    this.socket.write(data);
  }

  /** The next complete frame as text, prefix included (consumed). */
  async frameText(): Promise<string> {
    const total = () =>
      this.received.length >= 4 ? 4 + Number(this.received.subarray(0, 4).toString('ascii')) : -1;
    await this.until(
      () => (total() >= 0 && this.received.length >= total()) || this.ended,
      'a frame',
    );
    const size = total();
    if (size < 0 || this.received.length < size) {
      throw new Error('connection closed before a frame arrived');
    }
    const text = this.received.subarray(0, size).toString('utf8');
    this.received = this.received.subarray(size);
    return text;
  }

  /** The next complete frame's JSON (consumed). */
  async frame(): Promise<Record<string, unknown>> {
    return JSON.parse((await this.frameText()).slice(4)) as Record<string, unknown>;
  }

  /** Sends one command as a frame and reads the answer's JSON. */
  async command(command: string, params: unknown): Promise<Record<string, unknown>> {
    this.write(encodeFrame({ command, params }));
    return this.frame();
  }

  /** Resolves with the bytes not yet consumed once the server has closed the connection. */
  async closedWith(): Promise<string> {
    await this.until(() => this.ended, 'the server to close the connection');
    return this.received.toString('utf8');
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
