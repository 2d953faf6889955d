// The form for an execution's pending wait, built from the wait's JSON schema:
// boolean -> Approve / Reject, enum -> choices, object -> one field per property,
// anything else -> a JSON box. The answer is checked against the schema here
// (problems are shown inline and nothing is sent) and again by the server.

import { h, replace, uid } from "./dom";
import { resolve, typesOf, validate, type Schema } from "./schema";

type Read = { value?: unknown; missing?: boolean; problem?: string };
type Field = { el: HTMLElement; read(): Read; focus(): void };

function mainType(schema: Schema): string | undefined {
  return typesOf(schema).find((t) => t !== "null");
}

function labelFor(schema: Schema, fallback: string): string {
  return typeof schema.title === "string" && schema.title ? schema.title : fallback;
}

function describe(schema: Schema): string | null {
  return typeof schema.description === "string" ? schema.description : null;
}

function choiceField(schema: Schema, name: string, label: string): Field {
  const options = schema.enum as unknown[];
  const legendId = uid("legend");
  const inputs: HTMLInputElement[] = [];
  const group = h(
    "fieldset",
    { class: "choices", "aria-labelledby": legendId },
    h("legend", { id: legendId }, label),
    options.map((option, i) => {
      const id = uid("choice");
      const input = h("input", { type: "radio", name, id, value: String(i) }) as HTMLInputElement;
      inputs.push(input);
      return h("label", { class: "choice", for: id }, input, " ", typeof option === "string" ? option : JSON.stringify(option));
    }),
  );
  return {
    el: group,
    read() {
      const picked = inputs.find((i) => i.checked);
      return picked ? { value: options[Number(picked.value)] } : { missing: true };
    },
    focus: () => inputs[0]?.focus(),
  };
}

function inputField(schema: Schema, label: string, type: string): Field {
  const id = uid("field");
  const hint = describe(schema);
  const hintId = hint ? uid("hint") : null;
  const numeric = type === "number" || type === "integer";
  const input = h("input", {
    id,
    type: numeric ? "number" : "text",
    step: type === "integer" ? "1" : numeric ? "any" : null,
    "aria-describedby": hintId,
    autocomplete: "off",
  }) as HTMLInputElement;
  return {
    el: h("div", { class: "field" }, h("label", { for: id }, label), input, hint && h("small", { id: hintId }, hint)),
    read() {
      const raw = input.value;
      if (raw === "") return { missing: true };
      if (!numeric) return { value: raw };
      const n = Number(raw);
      return Number.isFinite(n) ? { value: n } : { problem: `${label}: not a number` };
    },
    focus: () => input.focus(),
  };
}

function checkboxField(schema: Schema, label: string): Field {
  const id = uid("check");
  const input = h("input", { id, type: "checkbox" }) as HTMLInputElement;
  if (schema.default === true) input.checked = true;
  return {
    el: h("div", { class: "field check" }, input, h("label", { for: id }, label)),
    read: () => ({ value: input.checked }),
    focus: () => input.focus(),
  };
}

function jsonField(schema: Schema, label: string): Field {
  const id = uid("json");
  const hintId = uid("hint");
  const box = h("textarea", { id, rows: 3, spellcheck: "false", "aria-describedby": hintId }) as HTMLTextAreaElement;
  return {
    el: h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      box,
      h("small", { id: hintId }, describe(schema) ?? "A JSON value."),
    ),
    read() {
      if (box.value.trim() === "") return { missing: true };
      try {
        return { value: JSON.parse(box.value) };
      } catch {
        return { problem: `${label}: not valid JSON` };
      }
    },
    focus: () => box.focus(),
  };
}

function field(schemaIn: Schema, root: Schema, label: string): Field {
  const schema = resolve(schemaIn, root);
  const type = mainType(schema);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return choiceField(schema, uid("enum"), labelFor(schema, label));
  if (type === "boolean") return checkboxField(schema, labelFor(schema, label));
  if (type === "string" || type === "number" || type === "integer") return inputField(schema, labelFor(schema, label), type);
  if (type === "object" && schema.properties && typeof schema.properties === "object") {
    const props = Object.entries(schema.properties as Record<string, Schema>);
    const required = new Set((schema.required ?? []) as string[]);
    const fields = props.map(([name, sub]) => [name, field(sub, root, name + (required.has(name) ? " *" : ""))] as const);
    const legendId = uid("legend");
    return {
      el: h(
        "fieldset",
        { class: "object", "aria-labelledby": legendId },
        h("legend", { id: legendId }, labelFor(schema, label)),
        fields.map(([, f]) => f.el),
      ),
      read() {
        const value: Record<string, unknown> = {};
        for (const [name, f] of fields) {
          const r = f.read();
          if (r.problem) return r;
          if (!r.missing) value[name] = r.value;
        }
        return { value };
      },
      focus: () => fields[0]?.[1].focus(),
    };
  }
  return jsonField(schema, labelFor(schema, label));
}

export type Submit = (value: unknown) => Promise<string | null>;

/** The form for one wait. `submit` sends the answer and resolves to an error text or null. */
export function waitForm(schemaIn: Schema | null | undefined, enabled: boolean, submit: Submit): HTMLElement {
  const root = schemaIn ?? {};
  const schema = resolve(root, root);
  const problemsId = uid("problems");
  const problems = h("div", { id: problemsId, class: "problems", role: "alert" });
  const form = h("form", { class: "wait-form", novalidate: true, "aria-describedby": problemsId }) as HTMLFormElement;
  const buttons: HTMLButtonElement[] = [];

  const show = (messages: string[]) => {
    replace(problems, messages.length ? h("ul", {}, messages.map((m) => h("li", {}, m))) : null);
    form.setAttribute("aria-invalid", messages.length ? "true" : "false");
  };
  const send = async (value: unknown) => {
    const errors = validate(value, schema, root);
    if (errors.length) {
      show(errors);
      return;
    }
    show([]);
    buttons.forEach((b) => (b.disabled = true));
    form.setAttribute("aria-busy", "true");
    const failed = await submit(value);
    form.removeAttribute("aria-busy");
    buttons.forEach((b) => (b.disabled = false));
    if (failed) show([failed]);
  };

  if (mainType(schema) === "boolean" && !Array.isArray(schema.enum)) {
    const approve = h("button", { type: "button", class: "primary", "data-answer": "true" }, "Approve") as HTMLButtonElement;
    const reject = h("button", { type: "button", class: "danger", "data-answer": "false" }, "Reject") as HTMLButtonElement;
    approve.addEventListener("click", () => void send(true));
    reject.addEventListener("click", () => void send(false));
    buttons.push(approve, reject);
    form.append(h("div", { class: "row" }, approve, reject));
  } else {
    const f = field(schema, root, schemaIn ? "Answer" : "Answer (any JSON value)");
    // Hosts sandbox the view without allow-forms, so no submit event ever fires:
    // the button and Enter in a one-line field send the answer themselves.
    const submitButton = h("button", { type: "button", class: "primary" }, "Send answer") as HTMLButtonElement;
    buttons.push(submitButton);
    form.append(f.el, h("div", { class: "row" }, submitButton));
    const trySend = () => {
      const r = f.read();
      if (r.problem) return show([r.problem]);
      if (r.missing) return show(["An answer is required."]);
      void send(r.value);
    };
    submitButton.addEventListener("click", trySend);
    form.addEventListener("keydown", (event) => {
      const target = event.target as HTMLElement;
      if (event.key === "Enter" && target.tagName === "INPUT" && !submitButton.disabled) {
        event.preventDefault();
        trySend();
      }
    });
    form.addEventListener("submit", (event) => event.preventDefault());
  }
  if (!enabled) {
    buttons.forEach((b) => (b.disabled = true));
    form.append(h("p", { class: "muted" }, "This server does not serve kitaru_executions_input: answer from a client that can."));
  }
  form.append(problems);
  return form;
}
