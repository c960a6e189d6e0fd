import fc from 'fast-check';
import { ERROR_CODES, OxdProtocolError } from '../../src/errors';
import { encodeFrame, FrameDecoder, MAX_FRAME_PAYLOAD, prefixFrame } from '../../src/oxd/framing';

const numRuns = process.env.CI ? 1000 : 100;
/** Frames up to this many bytes are split at every position; longer ones at sampled positions. */
const EXHAUSTIVE_SPLIT_BYTES = 256;
const SAMPLED_SPLITS = 24;

/** JSON values whose strings range over all of Unicode, not just ASCII. */
const jsonValue = fc.oneof(
  fc.jsonValue(),
  fc.jsonValue({ stringUnit: 'grapheme' }),
  fc.jsonValue({ stringUnit: 'binary' }),
);

/** A frame as oxd writes it: raw UTF-8, prefix counting UTF-16 code units. */
function rawFrame(value: unknown): Buffer {
  return Buffer.from(prefixFrame(JSON.stringify(value)), 'utf8');
}

/** Positions to cut `length` bytes at: all of them for short frames, a spread otherwise. */
function cutPositions(length: number): number[] {
  if (length <= EXHAUSTIVE_SPLIT_BYTES) return Array.from({ length: length + 1 }, (_, i) => i);
  const step = length / SAMPLED_SPLITS;
  const positions = new Set([0, 1, 2, 3, 4, 5, length - 1, length]);
  for (let i = 1; i < SAMPLED_SPLITS; i += 1) positions.add(Math.round(i * step));
  return [...positions];
}

/** Feeds the chunks to a fresh decoder; returns the payloads, plus a marker if a frame is left open. */
function decodeChunks(chunks: readonly Buffer[]): string[] {
  const decoder = new FrameDecoder();
  const payloads = chunks.flatMap((chunk) => decoder.push(chunk));
  return decoder.pending ? [...payloads, '<unfinished frame>'] : payloads;
}

/** Cut positions at which decoding does not give back exactly `expected`. */
function failingCuts(bytes: Buffer, expected: readonly string[]): number[] {
  return cutPositions(bytes.length).filter((position) => {
    const payloads = decodeChunks(cut(bytes, [position]));
    return payloads.length !== expected.length || payloads.some((p, i) => p !== expected[i]);
  });
}

/** Cuts `bytes` at the given (unsorted, possibly repeated) positions. */
function cut(bytes: Buffer, positions: readonly number[]): Buffer[] {
  const sorted = [...new Set(positions)].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const position of sorted) {
    chunks.push(bytes.subarray(start, position));
    start = position;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

function expectProtocolError(run: () => unknown, code: string = ERROR_CODES.PROTOCOL_ERROR): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(OxdProtocolError);
  expect((caught as OxdProtocolError).code).toBe(code);
}

describe('encodeFrame', () => {
  it('encodeFrame - prefixes exactly four zero-padded digits giving the JSON length', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const frame = encodeFrame(value);
        const prefix = frame.slice(0, 4);
        expect(prefix).toMatch(/^\d{4}$/);
        expect(Number(prefix)).toBe(frame.length - 4);
        expect(prefix).toBe(String(frame.length - 4).padStart(4, '0'));
      }),
      { numRuns },
    );
  });

  it('encodeFrame - writes pure ASCII so characters and bytes coincide', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const frame = encodeFrame(value);
        expect([...frame].filter((ch) => ch.charCodeAt(0) >= 0x7f)).toEqual([]);
        expect(Buffer.byteLength(frame, 'utf8')).toBe(frame.length);
      }),
      { numRuns },
    );
  });

  it('encodeFrame - escapes non-ASCII text, including astral characters', () => {
    const frame = encodeFrame({ name: 'Zoë 😀 東京' });
    expect(frame).toBe('0045{"name":"Zo\\u00eb \\ud83d\\ude00 \\u6771\\u4eac"}');
    expect(JSON.parse(frame.slice(4))).toEqual({ name: 'Zoë 😀 東京' });
  });

  it('encodeFrame - accepts a 9999-character payload and rejects 10000', () => {
    const largest = encodeFrame('a'.repeat(MAX_FRAME_PAYLOAD - 2));
    expect(largest.slice(0, 4)).toBe('9999');
    expect(largest).toHaveLength(4 + MAX_FRAME_PAYLOAD);
    expectProtocolError(
      () => encodeFrame('a'.repeat(MAX_FRAME_PAYLOAD - 1)),
      ERROR_CODES.FRAME_TOO_LARGE,
    );
  });

  it('encodeFrame - counts escaped non-ASCII by its escaped length against the limit', () => {
    // Each "é" becomes the six characters \u00e9.
    const fits = Math.floor((MAX_FRAME_PAYLOAD - 2) / 6);
    expect(encodeFrame('é'.repeat(fits)).slice(0, 4)).toBe(String(fits * 6 + 2));
    expectProtocolError(() => encodeFrame('é'.repeat(fits + 1)), ERROR_CODES.FRAME_TOO_LARGE);
  });
});

describe('prefixFrame', () => {
  it('prefixFrame - counts UTF-16 code units, not bytes', () => {
    const frame = prefixFrame('"😀é"');
    expect(frame.slice(0, 4)).toBe('0005');
    expect(Buffer.byteLength(frame, 'utf8')).toBe(4 + 2 + 4 + 2);
  });

  it('prefixFrame - rejects a 10000-character payload with OXD_FRAME_TOO_LARGE', () => {
    expect(prefixFrame('x'.repeat(MAX_FRAME_PAYLOAD))).toHaveLength(MAX_FRAME_PAYLOAD + 4);
    expectProtocolError(
      () => prefixFrame('x'.repeat(MAX_FRAME_PAYLOAD + 1)),
      ERROR_CODES.FRAME_TOO_LARGE,
    );
  });
});

describe('FrameDecoder', () => {
  it('FrameDecoder - round-trips an encoded frame split at any byte position', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const frame = encodeFrame(value);
        const bytes = Buffer.from(frame, 'ascii');
        expect(failingCuts(bytes, [frame.slice(4)])).toEqual([]);
        const [payload] = decodeChunks([bytes]);
        expect(JSON.parse(payload as string)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns },
    );
  });

  it('FrameDecoder - round-trips raw UTF-8 frames split inside multi-byte characters', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const json = JSON.stringify(value);
        fc.pre(json.length <= MAX_FRAME_PAYLOAD);
        expect(failingCuts(rawFrame(value), [json])).toEqual([]);
      }),
      { numRuns },
    );
  });

  it('FrameDecoder - decodes text of 2-, 3- and 4-byte characters fed one byte at a time', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('é', 'ß', '東', '€', '😀', '𝄞', 'a', '"', '\\') }),
        (text) => {
          const bytes = rawFrame({ text });
          const oneByteChunks = Array.from({ length: bytes.length }, (_, i) =>
            bytes.subarray(i, i + 1),
          );
          expect(decodeChunks(oneByteChunks)).toEqual([JSON.stringify({ text })]);
        },
      ),
      { numRuns },
    );
  });

  it('FrameDecoder - decodes merged frames in order, however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(jsonValue, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (values, rawCuts) => {
          const jsons = values.map((value) => JSON.stringify(value));
          fc.pre(jsons.every((json) => json.length <= MAX_FRAME_PAYLOAD));
          const stream = Buffer.concat(values.map(rawFrame));
          const cuts = rawCuts.map((n) => n % (stream.length + 1));
          expect(decodeChunks(cut(stream, cuts))).toEqual(jsons);
        },
      ),
      { numRuns },
    );
  });

  it('FrameDecoder - returns several frames from one chunk', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push('0002{}0004[1]]00')).toEqual(['{}', '[1]]']);
    expect(decoder.pending).toBe(true);
    expect(decoder.push('02""')).toEqual(['""']);
    expect(decoder.pending).toBe(false);
  });

  it('FrameDecoder - accepts the largest frame, 9999 characters', () => {
    const json = JSON.stringify('ü'.repeat(MAX_FRAME_PAYLOAD - 2));
    const bytes = Buffer.from(`9999${json}`, 'utf8');
    const decoder = new FrameDecoder();
    expect(decoder.push(bytes.subarray(0, 5000))).toEqual([]);
    expect(decoder.pending).toBe(true);
    expect(decoder.push(bytes.subarray(5000))).toEqual([json]);
  });

  it('FrameDecoder - waits for the full frame before returning it', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push('001')).toEqual([]);
    expect(decoder.push('0{"a":')).toEqual([]);
    expect(decoder.pending).toBe(true);
    expect(decoder.push('"bc"}')).toEqual(['{"a":"bc"}']);
  });

  it.each(['abcd', ' 097', '-001', '0000', '+097', '12a4', '\u0661\u0662\u0663\u0664'])(
    'FrameDecoder - rejects the bad length prefix %j',
    (prefix) => {
      const decoder = new FrameDecoder();
      expectProtocolError(() => decoder.push(`${prefix}{"status":"ok","data":{}}`));
    },
  );

  it('FrameDecoder - rejects a bad prefix that follows a valid frame', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push('0002{}')).toEqual(['{}']);
    expectProtocolError(() => decoder.push('HTTP/1.1 400 Bad Request\r\n'));
  });

  it('FrameDecoder - rejects a prefix split across chunks once all four characters are in', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push('00')).toEqual([]);
    expectProtocolError(() => decoder.push('x1{}'));
  });
});
