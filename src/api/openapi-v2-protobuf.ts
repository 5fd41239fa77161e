/**
 * The OpenAPI v2 document in the protobuf form kubectl asks for
 * (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): gnostic's openapi.v2.Document.
 * kubectl 1.27 reads it for explain, for client-side validation, and to learn that the server
 * validates fields itself (a PATCH operation with the GVK extension and a fieldValidation query
 * parameter). Only the messages and fields the document uses are written; field numbers are
 * gnostic's.
 */

type Json = Record<string, any>;

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

const key = (field: number, wire: number) => varint(field * 8 + wire);

/** A message being written: fields in order, each as protobuf's wire format. */
class Message {
  private readonly parts: Buffer[] = [];

  string(field: number, value: string | undefined): this {
    if (value) this.bytes(field, Buffer.from(value, 'utf8'));
    return this;
  }

  strings(field: number, values: string[] | undefined): this {
    for (const v of values ?? []) this.bytes(field, Buffer.from(v, 'utf8'));
    return this;
  }

  bool(field: number, value: boolean | undefined): this {
    if (value) this.parts.push(key(field, 0), varint(1));
    return this;
  }

  double(field: number, value: number | undefined): this {
    if (value === undefined) return this;
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.parts.push(key(field, 1), b);
    return this;
  }

  message(field: number, value: Message | undefined): this {
    if (value) this.bytes(field, value.encode());
    return this;
  }

  messages(field: number, values: Message[]): this {
    for (const v of values) this.bytes(field, v.encode());
    return this;
  }

  encode(): Buffer {
    return Buffer.concat(this.parts);
  }

  private bytes(field: number, b: Buffer): void {
    this.parts.push(key(field, 2), varint(b.length), b);
  }
}

/** Any{yaml}: JSON is YAML, which is how Kubernetes writes extension values. */
const any = (value: unknown) => new Message().string(2, JSON.stringify(value));
const named = (name: string, value: Message) => new Message().string(1, name).message(2, value);
const extensions = (o: Json, field: number, m: Message) => m.messages(field, Object.entries(o).filter(([k]) => k.startsWith('x-')).map(([k, v]) => named(k, any(v))));

function schema(s: Json): Message {
  const m = new Message();
  if (s.$ref) return m.string(1, String(s.$ref).replace('#/components/schemas/', '#/definitions/')).string(4, s.description);
  const intOrString = s['x-kubernetes-int-or-string'];
  m.string(2, intOrString ? 'int-or-string' : s.format).string(4, s.description).double(7, s.maximum).double(9, s.minimum).strings(19, s.required);
  m.messages(20, (s.enum ?? []).map(any));
  if (s.additionalProperties) m.message(21, new Message().message(1, schema(s.additionalProperties)));
  const type = intOrString ? 'string' : s.type;
  if (type) m.message(22, new Message().strings(1, [type]));
  if (s.items) m.message(23, new Message().messages(1, [schema(s.items)]));
  if (s.properties) m.message(25, new Message().messages(1, Object.entries(s.properties as Record<string, Json>).map(([k, v]) => named(k, schema(v)))));
  return extensions(s, 31, m);
}

function parameter(p: Json): Message {
  const sub = new Message().bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name);
  // Query: type is field 6; path: field 5 (gnostic's numbering differs between the two).
  const nonBody = p.in === 'path' ? new Message().message(4, sub.string(5, 'string')) : new Message().message(3, sub.string(6, 'string'));
  return new Message().message(1, new Message().message(2, nonBody));
}

function operation(op: Json): Message {
  const m = new Message().string(3, op.description).string(5, op.operationId).strings(6, ['application/json']).strings(7, ['application/json']);
  m.messages(8, (op.parameters ?? []).map(parameter));
  const ok = op.responses?.['200']?.content?.['application/json']?.schema;
  const response = new Message().string(1, 'OK').message(2, ok ? new Message().message(1, schema(ok)) : undefined);
  m.message(9, new Message().messages(1, [named('200', new Message().message(1, response)), named('401', new Message().message(1, new Message().string(1, 'Unauthorized')))]));
  return extensions(op, 13, m);
}

const methods: [string, number][] = [['get', 2], ['put', 3], ['post', 4], ['delete', 5], ['patch', 8]];

/** Encodes a document shaped like the v3 one (paths with operations, schemas by name) as gnostic v2. */
export function encodeOpenApiV2(doc: { paths: Record<string, Json>; schemas: Record<string, Json>; title: string; version: string }): Buffer {
  const paths = Object.entries(doc.paths).map(([path, item]) => {
    const m = new Message();
    for (const [method, field] of methods) if (item[method]) m.message(field, operation(item[method]));
    m.messages(9, (item.parameters ?? []).map(parameter));
    return named(path, m);
  });
  return new Message()
    .string(1, '2.0')
    .message(2, new Message().string(1, doc.title).string(2, doc.version))
    .message(8, new Message().messages(2, paths))
    .message(9, new Message().messages(1, Object.entries(doc.schemas).map(([name, s]) => named(name, schema(s)))))
    .encode();
}
