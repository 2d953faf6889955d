// A small JSON Schema checker for wait answers (the subset wait schemas use:
// type, enum, const, properties, required, additionalProperties, items, bounds,
// pattern, anyOf/oneOf, local $ref). The server checks again before sending.

export type Schema = Record<string, unknown>;

export function resolve(schema: Schema | null | undefined, root: Schema | null | undefined): Schema {
  let node: Schema = schema ?? {};
  for (let i = 0; i < 10 && typeof node.$ref === "string"; i++) {
    const ref = node.$ref as string;
    const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
    const defs = match && root ? (root[match[1]] as Record<string, Schema> | undefined) : undefined;
    const target = match && defs ? defs[decodeURIComponent(match[2])] : undefined;
    if (!target) break;
    const { $ref: _ignored, ...rest } = node;
    node = { ...target, ...rest };
  }
  return node;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  if (type === "number") return actual === "number" || actual === "integer";
  return actual === type;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function typesOf(schema: Schema): string[] {
  const t = schema.type;
  if (Array.isArray(t)) return t.map(String);
  return typeof t === "string" ? [t] : [];
}

/** Problems with `value` against `schema`, each prefixed with its path ("" is the value). */
export function validate(
  value: unknown,
  schemaIn: Schema | null | undefined,
  root: Schema | null | undefined = schemaIn,
  path = "",
): string[] {
  if (!schemaIn) return [];
  const schema = resolve(schemaIn, root);
  const at = path ? `${path}: ` : "";
  const types = typesOf(schema);
  if (types.length && !types.some((t) => matchesType(value, t))) {
    return [`${at}expected ${types.join(" or ")}, got ${typeOf(value)}`];
  }
  const errors: string[] = [];
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => same(e, value))) {
    errors.push(`${at}must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if ("const" in schema && !same(schema.const, value)) {
    errors.push(`${at}must be ${JSON.stringify(schema.const)}`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum)
      errors.push(`${at}must be at least ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum)
      errors.push(`${at}must be at most ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum)
      errors.push(`${at}must be more than ${schema.exclusiveMinimum}`);
    if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum)
      errors.push(`${at}must be less than ${schema.exclusiveMaximum}`);
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength)
      errors.push(`${at}must have at least ${schema.minLength} characters`);
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength)
      errors.push(`${at}must have at most ${schema.maxLength} characters`);
    if (typeof schema.pattern === "string") {
      try {
        if (!new RegExp(schema.pattern, "u").test(value)) errors.push(`${at}must match ${schema.pattern}`);
      } catch {
        // a pattern JavaScript cannot compile is left to the server
      }
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems)
      errors.push(`${at}needs at least ${schema.minItems} items`);
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems)
      errors.push(`${at}allows at most ${schema.maxItems} items`);
    if (schema.items && typeof schema.items === "object") {
      value.forEach((item, i) => errors.push(...validate(item, schema.items as Schema, root, `${path}[${i}]`)));
    }
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) {
      if (!(name in obj)) errors.push(`${path ? path + "." : ""}${name}: required`);
    }
    for (const [name, item] of Object.entries(obj)) {
      const sub = path ? `${path}.${name}` : name;
      if (name in props) errors.push(...validate(item, props[name], root, sub));
      else if (schema.additionalProperties === false) errors.push(`${sub}: not allowed`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === "object")
        errors.push(...validate(item, schema.additionalProperties as Schema, root, sub));
    }
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = schema[key];
    if (Array.isArray(options)) {
      const passing = options.filter((o) => validate(value, o as Schema, root, path).length === 0).length;
      if (passing === 0 || (key === "oneOf" && passing > 1)) {
        errors.push(`${at}does not match ${key === "anyOf" ? "any" : "exactly one"} of the allowed shapes`);
      }
    }
  }
  if (Array.isArray(schema.allOf)) {
    for (const part of schema.allOf) errors.push(...validate(value, part as Schema, root, path));
  }
  return errors;
}
