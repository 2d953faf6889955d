// A minimal MCP Apps host for the browser tests, built on the ext-apps AppBridge.
//
// The page gets two functions from the test (Playwright expose_function), which
// reach a real kitaru-mcp through the Python MCP client:
//   kitaruCall(name, args) -> {result} | {error}   (tools/call)
//   kitaruRead(uri)        -> {text, mimeType}     (resources/read)
// and window.__HOST__ = {tool, arguments, theme}: the tool call whose result the
// view shows. It embeds the view in a sandboxed iframe, as a real host does.

import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

type Config = { tool: string; arguments: Record<string, unknown>; theme: "light" | "dark" };
type Called = { result?: Record<string, unknown>; error?: string };
declare global {
  interface Window {
    __HOST__: Config;
    kitaruCall(name: string, args: unknown): Promise<Called>;
    kitaruRead(uri: string): Promise<{ text: string; mimeType: string; meta: unknown }>;
    hostState: { initialized: boolean; calls: string[]; resultSent: boolean; error?: string };
  }
}

const log = (line: string) => {
  const el = document.getElementById("host-log");
  if (el) el.append(document.createTextNode(line + "\n"), document.createElement("br"));
};

async function main(): Promise<void> {
  const config = window.__HOST__;
  window.hostState = { initialized: false, calls: [], resultSent: false };
  document.body.classList.toggle("dark", config.theme === "dark");
  const resource = await window.kitaruRead("ui://kitaru/execution");
  if (resource.mimeType !== "text/html;profile=mcp-app") throw new Error(`unexpected MIME type ${resource.mimeType}`);

  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.setAttribute("title", "Kitaru execution view");
  iframe.id = "app-frame";
  document.getElementById("frame-slot")!.append(iframe);

  const bridge = new AppBridge(
    null,
    { name: "kitaru-mcp-test-host", version: "1.0.0" },
    { serverTools: {}, logging: {} },
    { hostContext: { theme: config.theme, displayMode: "inline", platform: "web", locale: "en-US" } },
  );
  bridge.oncalltool = async (params) => {
    window.hostState.calls.push(params.name);
    const out = await window.kitaruCall(params.name, params.arguments ?? {});
    if (out.error !== undefined) throw new Error(out.error);
    return out.result as never;
  };
  bridge.onsizechange = ({ height }) => {
    if (typeof height === "number") iframe.style.height = `${Math.ceil(height) + 2}px`;
  };
  bridge.onloggingmessage = (params) => log(`app log: ${JSON.stringify(params.data)}`);
  bridge.oninitialized = () => {
    window.hostState.initialized = true;
    void (async () => {
      await bridge.sendToolInput({ arguments: config.arguments });
      const out = await window.kitaruCall(config.tool, config.arguments);
      if (out.error !== undefined) throw new Error(out.error);
      await bridge.sendToolResult(out.result as never);
      window.hostState.resultSent = true;
    })().catch((err) => (window.hostState.error = String(err)));
  };
  await bridge.connect(new PostMessageTransport(iframe.contentWindow!, iframe.contentWindow!));
  iframe.srcdoc = resource.text;
}

main().catch((err) => {
  window.hostState = { ...(window.hostState ?? { initialized: false, calls: [], resultSent: false }), error: String(err) };
  log(`host error: ${String(err)}`);
});
