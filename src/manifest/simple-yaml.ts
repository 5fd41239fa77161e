import * as jsYaml from 'js-yaml';

/**
 * A reader for the YAML most manifests are written in, several times faster than js-yaml: block
 * mappings and sequences, flow collections on one or more lines, plain and quoted scalars on one
 * line, literal and folded block scalars, comments. It reads nothing else: at the first thing
 * outside that (a tab, a multi-line plain scalar, an anchor, a duplicate key, any error), it gives
 * up and returns `notSimple`, and the caller parses the text with js-yaml, whose result and errors
 * are the reference. What it does return is what js-yaml returns for the same text under the core
 * schema: plain scalars are resolved by js-yaml's own core-schema types, in js-yaml's order.
 */
export const notSimple: unique symbol = Symbol('not simple YAML');

/** Thrown inside the reader to give up; caught once, at the top. */
const giveUp = { giveUp: true };

// js-yaml exports its types; its type declarations do not say so.
const types = (jsYaml as unknown as { types: Record<'null' | 'bool' | 'int' | 'float', jsYaml.Type> }).types;
type ImplicitType = { resolve(s: string): boolean; construct(s: string): unknown };
const implicitTypes = [types.null, types.bool, types.int, types.float] as ImplicitType[];
const intType = types.int as ImplicitType;
const floatType = types.float as ImplicitType;

/**
 * Characters js-yaml refuses or reads in ways this reader does not: tabs, CR, BOM, non-printables.
 * (Document markers after a text's first line are looked for apart.)
 */
const outsideSubset = /[\t\r\uFEFF\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF\uD800-\uDFFF]/;

const NL = 10;
const SPACE = 32;
const HASH = 35;
const COLON = 58;
const DASH = 45;
const DQUOTE = 34;
const SQUOTE = 39;
const COMMA = 44;
const LBRACKET = 91;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;
const BACKSLASH = 92;

/** The longest implicit key YAML allows. */
const maxKeyLength = 1024;

/**
 * Reads one YAML document. Mappings and sequences nested deeper than `maxDepth` are given up on
 * too: the caller's scan then says where.
 */
export function parseSimpleYaml(text: string, maxDepth = 100): unknown {
  return outsideSubset.test(text) || /^\.\.\.|\n(?:\.\.\.|---)/.test(text) ? notSimple : read(text, 0, text.length, maxDepth);
}

/**
 * A reader of a file's documents in place, each by where it starts and ends (as splitDocuments
 * cuts them: a document ends with a line break or at the end of the file); or undefined when the
 * file has anything in it the simple reader gives up on. Reading in the file's own text rather
 * than in a slice of it is a third faster.
 */
export function simpleDocumentReader(file: string, maxDepth = 100): ((start: number, end: number) => unknown) | undefined {
  if (outsideSubset.test(file) || /^\.\.\.|\n(?:\.\.\.|---(?![ \n]|$))/.test(file)) return undefined;
  return (start, end) => read(file, start, end, maxDepth);
}

function read(text: string, start: number, end: number, maxDepth: number): unknown {
  try {
    return new Reader(text, start, end, maxDepth).document();
  } catch (err) {
    if (err === giveUp) return notSimple;
    throw err;
  }
}

/**
 * A plain scalar's value, as js-yaml's core schema resolves it: null, a boolean, an integer, a
 * float, or the string. Only a digit, a sign or a dot can start a number, and null and booleans
 * are a few words, so most strings are settled without running js-yaml's resolvers.
 */
function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 43 || c === DASH || c === 46) {
    // null and booleans are words: only an integer or a float can start so
    if (intType.resolve(s)) return intType.construct(s);
    if (floatType.resolve(s)) return floatType.construct(s);
    return s;
  }
  const n = s.length;
  // ~ n N t T f F, in words of 1, 4 or 5 characters
  if (n === 0 || ((n === 1 || n === 4 || n === 5) && (c === 126 || c === 110 || c === 78 || c === 116 || c === 84 || c === 102 || c === 70) && nullOrBool.has(s))) {
    for (const type of implicitTypes) if (type.resolve(s)) return type.construct(s);
  }
  return s;
}

/**
 * Short plain scalars repeat from one manifest to the next (name, image, TCP, IfNotPresent, 8080):
 * each is read once and handed out again when the same characters come back, resolved. Fewer
 * strings to make and to keep, and a key V8 has seen as a property name is found at once.
 */
const slots = 4096;
const seenText: string[] = new Array<string>(slots).fill('');
const seenValue: unknown[] = new Array<unknown>(slots).fill(undefined);
// Up to 12 characters, a slice is a copy in V8 (a longer one may point into the whole file's text,
// which the table would then keep alive).
const longest = 12;

function slot(s: string, from: number, to: number): number {
  return (s.charCodeAt(from) * 31 + s.charCodeAt(to - 1) * 7 + s.charCodeAt((from + to) >> 1) * 3 + (to - from) * 131) & (slots - 1);
}

function plainValue(s: string, from: number, to: number): unknown {
  if (to - from > longest) return resolvePlain(s.slice(from, to));
  const h = slot(s, from, to);
  const text = seenText[h]!;
  if (text.length === to - from && s.startsWith(text, from)) return seenValue[h];
  const fresh = s.slice(from, to);
  const value = resolvePlain(fresh);
  seenText[h] = fresh;
  seenValue[h] = value;
  return value;
}

/** A plain key, resolved as a scalar and made a string, as js-yaml makes it (`1: x` is "1"). */
function plainKey(s: string, from: number, to: number): string {
  return String(plainValue(s, from, to));
}

/** The words the core schema reads as null or a boolean. */
const nullOrBool = new Set(['~', 'null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);

/** Characters a plain scalar cannot start with (besides `-`, `?`, `:` before a space). */
function isIndicator(c: number): boolean {
  // , [ ] { } # & * ! | > ' " % @ `
  return c === COMMA || c === LBRACKET || c === RBRACKET || c === LBRACE || c === RBRACE || c === HASH || c === 38 || c === 42 || c === 33 || c === 124 || c === 62 || c === SQUOTE || c === DQUOTE || c === 37 || c === 64 || c === 96;
}

class Reader {
  /** Where reading is: after a node, the start of the line that follows it. */
  private i = 0;
  private readonly n: number;
  /** The start of the line nextContent last found. */
  private lineStart = 0;
  /** Whether the value just read was nothing at all (an empty `-` entry, a bare `key:`). */
  private empty = false;
  /** How many mappings and sequences the node being read is inside. */
  private depth = 0;

  constructor(private readonly s: string, start: number, end: number, private readonly maxDepth: number) {
    this.i = start;
    this.n = end;
  }

  /** Where the line from `i` ends (its line break), or -1 when it runs to the end. */
  private lineEnd(i: number): number {
    const end = this.s.indexOf('\n', i);
    return end < this.n ? end : -1;
  }

  document(): unknown {
    const s = this.s;
    if (s.startsWith('---', this.i)) {
      this.i += 3;
      this.endOfLine();
    }
    const p = this.nextContent(this.i);
    if (p < 0) throw giveUp; // an empty document: js-yaml says what it is
    const value = this.blockNodeAt(p, -1);
    if (this.nextContent(this.i) >= 0) throw giveUp;
    return value;
  }

  /** The first character of the next line from `from` (a line start) with content, or -1. */
  private nextContent(from: number): number {
    const s = this.s;
    let i = from;
    while (i < this.n) {
      let j = i;
      while (s.charCodeAt(j) === SPACE) j++;
      const c = s.charCodeAt(j);
      if (j >= this.n) return -1;
      if (c === NL) {
        i = j + 1;
        continue;
      }
      if (c === HASH) {
        const end = this.lineEnd(j);
        if (end < 0) return -1;
        i = end + 1;
        continue;
      }
      this.lineStart = i;
      return j;
    }
    return -1;
  }

  /** The column of `p`, on the line nextContent last found. */
  private column(p: number): number {
    return p - this.lineStart;
  }

  /** Skips spaces and a comment to the end of the line, and past it; gives up on anything else. */
  private endOfLine(): void {
    const s = this.s;
    let i = this.i;
    const spaced = i;
    while (s.charCodeAt(i) === SPACE) i++;
    if (i >= this.n) {
      this.i = this.n;
      return;
    }
    const c = s.charCodeAt(i);
    if (c === HASH && (i > spaced || i === 0 || s.charCodeAt(i - 1) === SPACE || s.charCodeAt(i - 1) === NL)) {
      const end = this.lineEnd(i);
      this.i = end < 0 ? this.n : end + 1;
      return;
    }
    if (c !== NL) throw giveUp;
    this.i = i + 1;
  }

  /** Whether `p` is a space, a line break or the end: what makes `-`, `?` and `:` indicators. */
  private blankAt(p: number): boolean {
    const c = this.s.charCodeAt(p);
    return c === SPACE || c === NL || p >= this.n;
  }

  private isDash(p: number): boolean {
    return this.s.charCodeAt(p) === DASH && this.blankAt(p + 1);
  }

  /** A node starting at `p`, the first character of its line's content, inside a parent indented `parent`. */
  private blockNodeAt(p: number, parent: number): unknown {
    const col = this.column(p);
    if (this.isDash(p)) return this.blockSequence(p, col);
    const colon = this.keyEnd(p);
    if (colon >= 0) return this.blockMapping(p, col, colon);
    // A scalar or flow collection on a line of its own.
    const c = this.s.charCodeAt(p);
    if (c === 124 || c === 62) throw giveUp;
    this.i = p;
    return this.inlineValue(parent);
  }

  /**
   * Where a key starting at `p` ends (its `:`), or -1 when the line there is not `key: ...`.
   * Quoted keys and plain ones; nothing longer than YAML allows an implicit key to be.
   */
  private keyEnd(p: number): number {
    const s = this.s;
    const c = s.charCodeAt(p);
    let i: number;
    if (c === DQUOTE || c === SQUOTE) {
      i = s.indexOf(c === DQUOTE ? '"' : "'", p + 1);
      // escaped quotes inside a quoted key: not worth the trouble
      if (i < 0 || i >= this.n || s.charCodeAt(i - 1) === BACKSLASH || s.charCodeAt(i + 1) === c) throw giveUp;
      const nl = this.lineEnd(p);
      if (nl >= 0 && nl < i) return -1;
      i++;
      while (s.charCodeAt(i) === SPACE) i++;
      if (s.charCodeAt(i) !== COLON) return -1;
      const after = s.charCodeAt(i + 1);
      return after === SPACE || after === NL || i + 1 >= this.n ? i : -1;
    }
    if (isIndicator(c) || ((c === DASH || c === 63 || c === COLON) && this.blankAt(p + 1))) return -1;
    for (i = p; i < this.n; i++) {
      const ch = s.charCodeAt(i);
      if (ch === NL) return -1;
      if (ch === COLON) {
        const after = s.charCodeAt(i + 1);
        if (after === SPACE || after === NL || i + 1 >= this.n) return i - p > maxKeyLength ? -1 : i;
      } else if (ch === HASH && s.charCodeAt(i - 1) === SPACE) return -1;
    }
    return -1;
  }

  /** A block mapping whose first key starts at `first` and ends at `firstColon`. */
  private blockMapping(first: number, col: number, firstColon: number): Record<string, unknown> {
    const s = this.s;
    if (++this.depth > this.maxDepth) throw giveUp;
    const out: Record<string, unknown> = {};
    let p = first;
    let colon = firstColon;
    for (;;) {
      const c = s.charCodeAt(p);
      let key: string;
      if (c === DQUOTE || c === SQUOTE) {
        this.i = p;
        key = this.quoted(c);
      } else {
        let end = colon;
        while (s.charCodeAt(end - 1) === SPACE) end--;
        key = plainKey(s, p, end);
      }
      // A duplicate key, and also __proto__ and the names objects inherit: js-yaml's business.
      if (out[key] !== undefined) throw giveUp;
      this.i = colon + 1;
      out[key] = this.valueAfterIndicator(col, false);
      const next = this.nextContent(this.i);
      if (next < 0) {
        this.i = this.n;
        this.depth--;
        return out;
      }
      const nextCol = this.column(next);
      if (nextCol < col) {
        this.i = next - nextCol;
        this.depth--;
        return out;
      }
      if (nextCol > col) throw giveUp;
      p = next;
      colon = this.keyEnd(p);
      if (colon < 0) throw giveUp;
    }
  }

  private blockSequence(first: number, col: number): unknown[] {
    if (++this.depth > this.maxDepth) throw giveUp;
    const out: unknown[] = [];
    let p = first;
    for (;;) {
      this.i = p + 1;
      this.empty = false;
      out.push(this.valueAfterIndicator(col, true));
      const empty = this.empty;
      const next = this.nextContent(this.i);
      if (next < 0) {
        this.i = this.n;
        this.depth--;
        return out;
      }
      const nextCol = this.column(next);
      if (nextCol > col) throw giveUp;
      // js-yaml reads a `-` less indented after an empty entry as this sequence's next entry
      if (empty && nextCol < col && this.isDash(next)) throw giveUp;
      if (nextCol < col || !this.isDash(next)) {
        this.i = next - nextCol;
        this.depth--;
        return out;
      }
      p = next;
    }
  }

  /**
   * The value after a mapping's `:` or a sequence's `-` (this.i is just past it), in a collection
   * indented `col`: on the same line, or on the lines below, or null.
   */
  private valueAfterIndicator(col: number, inSequence: boolean): unknown {
    const s = this.s;
    let i = this.i;
    while (s.charCodeAt(i) === SPACE) i++;
    const c = s.charCodeAt(i);
    if (i >= this.n || c === NL || c === HASH) {
      this.endOfLine();
      const next = this.nextContent(this.i);
      if (next < 0) {
        this.i = this.n;
        return null;
      }
      const nextCol = this.column(next);
      if (nextCol > col) return this.blockNodeAt(next, col);
      if (nextCol === col && !inSequence && this.isDash(next)) return this.blockSequence(next, col);
      this.i = next - nextCol;
      this.empty = true;
      return null;
    }
    if (inSequence) {
      if (this.isDash(i)) throw giveUp;
      const colon = this.keyEnd(i);
      if (colon >= 0) return this.blockMapping(i, this.column(i), colon);
    }
    this.i = i;
    return this.inlineValue(col);
  }

  /** A scalar or flow collection starting at this.i and ending its line, inside a parent indented `col`. */
  private inlineValue(col: number): unknown {
    const s = this.s;
    const i = this.i;
    const c = s.charCodeAt(i);
    let value: unknown;
    if (c === 124 || c === 62) return this.blockScalar(col);
    if (c === LBRACKET || c === LBRACE) value = this.flow(col);
    else if (c === DQUOTE || c === SQUOTE) value = this.quoted(c);
    else {
      if (isIndicator(c) || ((c === DASH || c === 63 || c === COLON) && this.blankAt(i + 1))) throw giveUp;
      let j = i;
      let end = i;
      for (; j < this.n; j++) {
        const ch = s.charCodeAt(j);
        if (ch === NL) break;
        if (ch === SPACE) {
          if (s.charCodeAt(j + 1) === HASH) break;
          continue;
        }
        // `a: b: c` is an error; js-yaml says so
        if (ch === COLON) {
          const after = s.charCodeAt(j + 1);
          if (after === SPACE || after === NL || j + 1 >= this.n) throw giveUp;
        }
        end = j + 1;
      }
      value = plainValue(s, i, end);
      this.i = j;
    }
    this.endOfLine();
    return value;
  }

  /** A quoted scalar on one line, from this.i (its opening quote); this.i ends after the closing one. */
  private quoted(quote: number): string {
    const s = this.s;
    let i = this.i + 1;
    let out = '';
    let from = i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (i >= this.n || c === NL) throw giveUp;
      if (c === quote) {
        if (quote === SQUOTE && s.charCodeAt(i + 1) === SQUOTE) {
          out += s.slice(from, i + 1);
          i += 2;
          from = i;
          continue;
        }
        out += s.slice(from, i);
        this.i = i + 1;
        return out;
      }
      if (c === BACKSLASH && quote === DQUOTE) {
        out += s.slice(from, i);
        const e = s.charCodeAt(i + 1);
        switch (e) {
          case BACKSLASH: out += '\\'; break;
          case DQUOTE: out += '"'; break;
          case 47: out += '/'; break;
          case 110: out += '\n'; break;
          case 116: out += '\t'; break;
          case 114: out += '\r'; break;
          case 48: out += '\0'; break;
          case 117: {
            const hex = s.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw giveUp;
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            throw giveUp;
        }
        i += 2;
        from = i;
        continue;
      }
      i++;
    }
  }

  /** A flow collection from this.i, on one or more lines each indented more than `col`. */
  private flow(col: number): unknown {
    const s = this.s;
    const open = s.charCodeAt(this.i);
    if (++this.depth > this.maxDepth) throw giveUp;
    this.i++;
    const close = open === LBRACKET ? RBRACKET : RBRACE;
    const items: unknown[] = [];
    const map: Record<string, unknown> = {};
    this.flowSpace(col);
    if (s.charCodeAt(this.i) === close) {
      this.i++;
      this.depth--;
      return open === LBRACKET ? items : map;
    }
    for (;;) {
      if (open === LBRACKET) {
        items.push(this.flowNode(col));
      } else {
        const c = s.charCodeAt(this.i);
        const key = c === DQUOTE || c === SQUOTE ? this.quoted(c) : String(this.flowPlain(col));
        // an implicit key and its colon are on one line
        while (s.charCodeAt(this.i) === SPACE) this.i++;
        if (s.charCodeAt(this.i) !== COLON) throw giveUp;
        const after = s.charCodeAt(this.i + 1);
        if (after !== SPACE && after !== NL) throw giveUp;
        this.i++;
        this.flowSpace(col);
        if (map[key] !== undefined) throw giveUp;
        map[key] = this.flowNode(col);
      }
      this.flowSpace(col);
      const c = s.charCodeAt(this.i);
      if (c === close) {
        this.i++;
        this.depth--;
        return open === LBRACKET ? items : map;
      }
      if (c !== COMMA) throw giveUp;
      this.i++;
      this.flowSpace(col);
      const next = s.charCodeAt(this.i);
      if (next === COMMA || next === close) throw giveUp;
    }
  }

  private flowNode(col: number): unknown {
    const c = this.s.charCodeAt(this.i);
    if (c === LBRACKET || c === LBRACE) return this.flow(col);
    if (c === DQUOTE || c === SQUOTE) return this.quoted(c);
    return this.flowPlain(col);
  }

  /** A plain scalar inside a flow collection; one without a colon, on one line. */
  private flowPlain(col: number): unknown {
    const s = this.s;
    const i = this.i;
    const c = s.charCodeAt(i);
    if (isIndicator(c)) throw giveUp;
    if (c === DASH || c === 63 || c === COLON) {
      const after = s.charCodeAt(i + 1);
      if (this.blankAt(i + 1) || after === COMMA || after === LBRACKET || after === RBRACKET || after === LBRACE || after === RBRACE) throw giveUp;
    }
    let j = i;
    let end = i;
    for (; j < this.n; j++) {
      const ch = s.charCodeAt(j);
      if (ch === NL || ch === COMMA || ch === LBRACKET || ch === RBRACKET || ch === LBRACE || ch === RBRACE) break;
      if (ch === COLON) {
        const after = s.charCodeAt(j + 1);
        if (after === SPACE || after === NL) break;
        throw giveUp;
      }
      if (ch === SPACE) {
        if (s.charCodeAt(j + 1) === HASH) break;
        continue;
      }
      end = j + 1;
    }
    if (end === i) throw giveUp;
    this.i = end;
    // A plain scalar that goes on to the next line is one scalar over several lines.
    let k = end;
    while (s.charCodeAt(k) === SPACE) k++;
    if (s.charCodeAt(k) === NL) {
      this.i = k;
      this.flowSpace(col);
      const next = s.charCodeAt(this.i);
      if (next !== COMMA && next !== RBRACKET && next !== RBRACE) throw giveUp;
    }
    return plainValue(s, i, end);
  }

  /** Spaces, line breaks and comments inside a flow collection; its lines indented more than `col`. */
  private flowSpace(col: number): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === SPACE) i++;
      else if (c === NL) {
        i++;
        let j = i;
        while (s.charCodeAt(j) === SPACE) j++;
        const next = s.charCodeAt(j);
        if (j < this.n && next !== NL && next !== HASH && j - i <= col) throw giveUp;
        i = j;
      } else if (c === HASH && (s.charCodeAt(i - 1) === SPACE || s.charCodeAt(i - 1) === NL)) {
        const end = this.lineEnd(i);
        if (end < 0) throw giveUp;
        i = end;
      } else break;
    }
    if (i >= this.n) throw giveUp;
    this.i = i;
  }

  /** A literal (`|`, `|-`) or folded (`>`, `>-`) block scalar whose header is at this.i. */
  private blockScalar(col: number): string {
    const s = this.s;
    const folded = s.charCodeAt(this.i) === 62;
    this.i++;
    let strip = false;
    const chomp = s.charCodeAt(this.i);
    if (chomp === DASH) {
      strip = true;
      this.i++;
    } else if (chomp !== SPACE && chomp !== NL && chomp !== HASH) throw giveUp; // keep (+), an indentation digit
    this.endOfLine();
    // The content's indentation is its first non-empty line's.
    let indent = -1;
    let widestEmpty = 0;
    for (let i = this.i; i < this.n; ) {
      let j = i;
      while (s.charCodeAt(j) === SPACE) j++;
      if (j >= this.n) throw giveUp; // to the end without a line break
      if (s.charCodeAt(j) === NL) {
        if (folded) throw giveUp;
        widestEmpty = Math.max(widestEmpty, j - i);
        i = j + 1;
        continue;
      }
      indent = j - i;
      break;
    }
    if (indent <= col || widestEmpty > indent) throw giveUp;
    const lines: string[] = [];
    let i = this.i;
    while (i < this.n) {
      let j = i;
      while (s.charCodeAt(j) === SPACE && j - i < indent) j++;
      const end = this.lineEnd(j);
      if (end < 0) throw giveUp;
      if (j - i < indent) {
        if (j !== end) break; // a line indented less: the scalar is over
        lines.push('');
      } else {
        const line = s.slice(j, end);
        if (folded && line.charCodeAt(0) === SPACE) throw giveUp; // more-indented lines keep their breaks
        if (line.trim() === '' && line.length > 0) throw giveUp;
        lines.push(line);
      }
      i = end + 1;
    }
    this.i = i;
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    let out: string;
    if (!folded) out = lines.join('\n');
    else {
      out = '';
      let empty = 0;
      for (const line of lines) {
        if (line === '') {
          empty++;
          continue;
        }
        if (out !== '') out += empty > 0 ? '\n'.repeat(empty) : ' ';
        out += line;
        empty = 0;
      }
    }
    return strip ? out : out + '\n';
  }
}
