/**
 * A reader for the small subset of YAML that .github/workflows/ci.yml is written in: block
 * mappings, block sequences (of scalars or mappings), flow lists of plain scalars (`[20, 22]`),
 * `|` block scalars, plain and quoted scalars, and whole-line comments. Scalars stay strings.
 * Anything else (anchors, multi-line flow collections, inline comments, tabs) is refused with the
 * line number, so a change to the workflow that this reader would misread fails the test instead.
 */
export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  number: number;
  indent: number;
  text: string;
}

function fail(line: Line | undefined, message: string): never {
  throw new Error(`ci.yml line ${line?.number ?? 'end'}: ${message}`);
}

function scalar(text: string, line: Line): YamlValue {
  if (/^'.*'$/.test(text)) return text.slice(1, -1).replace(/''/g, "'");
  if (/^".*"$/.test(text)) return JSON.parse(text) as string;
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) fail(line, 'a flow list must end on its line');
    const inner = text.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((item) => scalar(item.trim(), line));
  }
  if (/^[&*!{>|]/.test(text) || / #/.test(text)) fail(line, `not read by this reader: ${text}`);
  return text;
}

/** `key: rest` of a mapping line, or undefined when the line is no mapping entry. */
function entry(text: string): [string, string] | undefined {
  const match = /^([A-Za-z0-9_.-]+|'[^']*'|"[^"]*"):(?:\s+(.*))?$/.exec(text);
  if (match === null) return undefined;
  const key = match[1]!.replace(/^['"]|['"]$/g, '');
  return [key, (match[2] ?? '').trim()];
}

class Reader {
  private index = 0;

  constructor(private readonly lines: Line[]) {}

  read(): YamlValue {
    const value = this.block(0);
    if (this.index < this.lines.length) fail(this.lines[this.index], 'unexpected indentation');
    return value;
  }

  private block(indent: number): YamlValue {
    const first = this.lines[this.index];
    if (first === undefined || first.indent !== indent) fail(first, `expected indent ${indent}`);
    return first.text.startsWith('- ') ? this.sequence(indent) : this.mapping(indent);
  }

  private mapping(indent: number): YamlValue {
    const result: { [key: string]: YamlValue } = {};
    for (let line = this.lines[this.index]; line?.indent === indent;) {
      const pair = entry(line.text);
      if (pair === undefined) fail(line, `expected "key: value": ${line.text}`);
      const [key, rest] = pair;
      if (key in result) fail(line, `"${key}" set twice`);
      this.index += 1;
      const next = this.lines[this.index];
      if (rest === '|') {
        const body: string[] = [];
        while (this.lines[this.index] !== undefined && this.lines[this.index]!.indent > indent) {
          body.push(this.lines[this.index]!.text);
          this.index += 1;
        }
        result[key] = `${body.join('\n')}\n`;
      } else if (rest !== '') {
        result[key] = scalar(rest, line);
      } else if (next !== undefined && next.indent > indent) {
        result[key] = this.block(next.indent);
      } else {
        result[key] = '';
      }
      line = this.lines[this.index];
    }
    return result;
  }

  private sequence(indent: number): YamlValue {
    const result: YamlValue[] = [];
    for (let line = this.lines[this.index]; line?.indent === indent;) {
      if (!line.text.startsWith('- ')) fail(line, 'expected a "- " item');
      const content = line.text.slice(2).trim();
      if (entry(content) !== undefined) {
        // "- key: value" opens a mapping whose keys are indented like `key`.
        this.lines[this.index] = { number: line.number, indent: indent + 2, text: content };
        result.push(this.mapping(indent + 2));
      } else {
        result.push(scalar(content, line));
        this.index += 1;
      }
      line = this.lines[this.index];
    }
    return result;
  }
}

/** The document in `source`, read as described above. */
export function readWorkflowYaml(source: string): YamlValue {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, position) => {
    const line: Line = { number: position + 1, indent: 0, text: '' };
    if (raw.includes('\t')) fail(line, 'tabs are not read');
    const text = raw.trimEnd();
    if (text.trim() === '' || text.trim().startsWith('#')) return;
    line.indent = text.length - text.trimStart().length;
    line.text = text.trimStart();
    lines.push(line);
  });
  return new Reader(lines).read();
}
