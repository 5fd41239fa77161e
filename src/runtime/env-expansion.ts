/**
 * Kubernetes' $(VAR_NAME) expansion, as the kubelet applies it to env values, command and args:
 * `$(NAME)` becomes NAME's value, or stays as written when NAME has none; `$$` is one `$` (so
 * `$$(NAME)` is the text `$(NAME)`); any other `$` stays. Pure.
 */
export function expandVariables(input: string, lookup: (name: string) => string | undefined): string {
  if (!input.includes('$')) return input;
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) {
        out += '$(';
      } else {
        const name = input.slice(cursor + 2, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close - cursor;
      }
    } else {
      out += `$${next}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** `NAME=value` entries as a lookup, the first of a name winning over the later ones' contexts. */
export function envLookup(...contexts: (readonly string[])[]): (name: string) => string | undefined {
  const values = new Map<string, string>();
  for (const context of contexts) {
    for (const entry of context) {
      const at = entry.indexOf('=');
      const name = at < 0 ? entry : entry.slice(0, at);
      if (!values.has(name)) values.set(name, at < 0 ? '' : entry.slice(at + 1));
    }
  }
  return (name) => values.get(name);
}
