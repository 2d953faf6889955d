// Bundle the execution view (and the test host) into single, self-contained HTML files.
//
//   node build.mjs              writes ../kitaru_mcp/surface/app/execution.html and ../tests/app_host/host.html
//   node build.mjs --out DIR    writes DIR/execution.html and DIR/host.html (the drift test compares)
//
// The output is deterministic: same sources and pinned versions, same bytes.

import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");

const targets = [
  {
    name: "execution.html",
    entry: join(here, "src", "execution.ts"),
    template: join(here, "src", "execution.html"),
    dest: join(repo, "kitaru_mcp", "surface", "app"),
  },
  {
    name: "host.html",
    entry: join(repo, "tests", "app_host", "host.ts"),
    template: join(repo, "tests", "app_host", "host.src.html"),
    dest: join(repo, "tests", "app_host"),
  },
];

async function bundle(entry) {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    charset: "utf8",
    write: false,
    logLevel: "warning",
    absWorkingDir: here,
    nodePaths: [join(here, "node_modules")],
  });
  return result.outputFiles[0].text;
}

const outIndex = process.argv.indexOf("--out");
const outDir = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : null;

for (const target of targets) {
  const js = (await bundle(target.entry)).replace(/<\/(script)/gi, "<\\/$1").trimEnd();
  const template = await readFile(target.template, "utf8");
  if (!template.includes("<!--BUNDLE-->")) throw new Error(`${target.template} has no <!--BUNDLE--> marker`);
  const html = template.replace("<!--BUNDLE-->", () => `<script type="module">${js}</script>`);
  const dest = outDir ?? target.dest;
  await mkdir(dest, { recursive: true });
  await writeFile(join(dest, target.name), html, "utf8");
  console.log(`${join(dest, target.name)} ${Buffer.byteLength(html)} bytes`);
}
