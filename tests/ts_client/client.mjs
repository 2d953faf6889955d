// A second, independent MCP client: the official TypeScript SDK drives kitaru-mcp over stdio.
//
//   node client.mjs <python> <plan.json>
//
// plan.json: {"cwd": "...", "calls": [{tool, title, arguments}], "bad": [{tool, arguments, field}]}
// (written by tests/test_ts_client.py from the schema examples, with real ids).
// The client lists the tools first (the SDK checks structuredContent against
// outputSchema only for listed tools), calls every planned call whose tool the
// server lists as read-only, then the bad-argument calls, and prints one JSON
// report on stdout. Every outcome is recorded; the Python test judges them.

import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [python, planPath] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planPath, "utf8"));

const transport = new StdioClientTransport({
  command: python,
  args: ["-m", "kitaru_mcp", "--mode", "destructive"],
  cwd: plan.cwd,
  env: { ...process.env },
  stderr: "inherit",
});
const client = new Client({ name: "kitaru-mcp-ts-test", version: "0.0.0" });

async function call(tool, args) {
  try {
    const result = await client.callTool({ name: tool, arguments: args });
    return {
      isError: result.isError === true,
      structuredContent: result.structuredContent ?? null,
      text: result.content?.[0]?.text ?? null,
    };
  } catch (error) {
    return { exception: String(error?.message ?? error) };
  }
}

const report = { server: null, protocolVersion: null, tools: [], calls: [], skipped: [], bad: [] };
try {
  await client.connect(transport);
  report.server = client.getServerVersion();
  report.protocolVersion = transport.protocolVersion ?? null;
  const { tools } = await client.listTools();
  const readOnly = new Set();
  for (const tool of tools) {
    report.tools.push({
      name: tool.name,
      readOnlyHint: tool.annotations?.readOnlyHint ?? null,
      hasOutputSchema: Boolean(tool.outputSchema),
    });
    if (tool.annotations?.readOnlyHint === true) readOnly.add(tool.name);
  }
  for (const planned of plan.calls) {
    if (!readOnly.has(planned.tool)) {
      report.skipped.push(planned.tool);
      continue;
    }
    report.calls.push({ ...planned, ...(await call(planned.tool, planned.arguments)) });
  }
  for (const planned of plan.bad) {
    report.bad.push({ ...planned, ...(await call(planned.tool, planned.arguments)) });
  }
} finally {
  await client.close();
}
process.stdout.write(JSON.stringify(report) + "\n");
