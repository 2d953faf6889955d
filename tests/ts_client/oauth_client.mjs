// The TypeScript SDK as an OAuth client of kitaru-mcp (--auth oauth):
//
//   node oauth_client.mjs <mcp url> <client id> <client secret> <issuer url>
//
// It connects without a token, so the server answers 401 and points at its
// protected resource metadata; the SDK discovers the authorization server from
// it, gets a token with the client-credentials grant (RFC 8707 resource
// included), and retries. Then it lists the tools, calls a read tool, and calls
// a tool its token's scopes do not cover (403 insufficient_scope; the SDK tries
// to step up once). Every HTTP exchange is recorded; one JSON report goes to
// stdout and the Python test judges it.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";

const [url, clientId, clientSecret, issuer] = process.argv.slice(2);
const exchanges = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const target = typeof input === "string" ? input : input.url ?? String(input);
  const headers = new Headers(init.headers ?? (typeof input === "object" ? input.headers : undefined));
  const response = await realFetch(input, init);
  exchanges.push({
    method: init.method ?? "GET",
    url: target,
    status: response.status,
    authorized: headers.has("authorization") && target.startsWith(url),
    wwwAuthenticate: response.headers.get("www-authenticate"),
  });
  return response;
};

const provider = new ClientCredentialsProvider({ clientId, clientSecret, expectedIssuer: issuer });
const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
const client = new Client({ name: "kitaru-mcp-ts-oauth-test", version: "0.0.0" });
const report = { tools: [], status: null, refused: null, error: null };
try {
  await client.connect(transport);
  report.protocolVersion = transport.protocolVersion ?? null;
  report.tools = (await client.listTools()).tools.map((tool) => tool.name);
  const status = await client.callTool({ name: "kitaru_status", arguments: {} });
  report.status = { isError: status.isError === true, structuredContent: status.structuredContent };
  try {
    await client.callTool({ name: "kitaru_executions_cancel", arguments: { exec_id: "x" } });
    report.refused = "not refused";
  } catch (error) {
    report.refused = String(error?.message ?? error);
  }
  report.grantedScope = provider.tokens()?.scope ?? null;
  await client.close();
} catch (error) {
  report.error = String(error?.stack ?? error);
}
report.exchanges = exchanges;
console.log(JSON.stringify(report));
