/**
 * oxd 3.x socket framing: four zero-padded ASCII digits giving the length of the JSON
 * that follows, in UTF-16 code units of the decoded text (oxd measures with Java's
 * `String.length()`), no delimiter. Pure functions, no sockets.
 */
import { StringDecoder } from 'node:string_decoder';
import { ERROR_CODES, OxdProtocolError } from '../errors';

/** Largest payload a four-digit prefix can announce. */
export const MAX_FRAME_PAYLOAD = 9999;
const PREFIX_LENGTH = 4;
const PREFIX_PATTERN = /^\d{4}$/;

/** Escapes every non-ASCII code unit as `\uXXXX`, so characters and bytes coincide. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Serialises `value` and prefixes it. Non-ASCII is escaped so the frame is pure ASCII.
 * Throws `OXD_FRAME_TOO_LARGE` when the JSON exceeds {@link MAX_FRAME_PAYLOAD}.
 */
export function encodeFrame(value: unknown): string {
  const json = asciiJson(value);
  return prefixFrame(json);
}

/** Prefixes an already serialised JSON text (used by servers writing raw UTF-8). */
export function prefixFrame(json: string): string {
  if (json.length > MAX_FRAME_PAYLOAD) {
    throw new OxdProtocolError(
      `oxd frame of ${json.length} characters exceeds the ${MAX_FRAME_PAYLOAD}-character limit of the socket protocol; ` +
        'send less data or use the HTTPS transport',
      ERROR_CODES.FRAME_TOO_LARGE,
    );
  }
  return String(json.length).padStart(PREFIX_LENGTH, '0') + json;
}

/**
 * Incremental decoder: feed it chunks as they arrive (split or merged anywhere, even
 * inside a multi-byte character) and it returns each complete JSON payload text.
 */
export class FrameDecoder {
  private readonly utf8 = new StringDecoder('utf8');
  private buffered = '';

  /** Adds a chunk; returns the payloads it completed, in order. Throws on a bad prefix. */
  push(chunk: Buffer | string): string[] {
    this.buffered += typeof chunk === 'string' ? chunk : this.utf8.write(chunk);
    const payloads: string[] = [];
    while (this.buffered.length >= PREFIX_LENGTH) {
      const prefix = this.buffered.slice(0, PREFIX_LENGTH);
      if (!PREFIX_PATTERN.test(prefix)) {
        throw new OxdProtocolError(
          `oxd sent a frame whose length prefix ${JSON.stringify(prefix)} is not four digits; ` +
            'check that host and port point at an oxd-server socket',
        );
      }
      const length = Number(prefix);
      if (length === 0) {
        throw new OxdProtocolError('oxd sent an empty frame (length prefix 0000)');
      }
      if (this.buffered.length < PREFIX_LENGTH + length) break;
      payloads.push(this.buffered.slice(PREFIX_LENGTH, PREFIX_LENGTH + length));
      this.buffered = this.buffered.slice(PREFIX_LENGTH + length);
    }
    return payloads;
  }

  /** True when a frame has started but not finished. */
  get pending(): boolean {
    return this.buffered.length > 0;
  }
}
