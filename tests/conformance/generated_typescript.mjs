// authd's account API and token endpoint driven through TypeScript types that
// openapi-typescript generates, unmodified, from the live /openapi.json, with openapi-fetch:
// the script below is type-checked by tsc (strict) against them, then run (by
// tests/api/conformance.rs).
//
//   node generated_typescript.mjs ISSUER EMAIL PASSWORD CLIENT_ID CLIENT_SECRET
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = dirname(fileURLToPath(import.meta.url));
const [base, ...args] = process.argv.slice(2);
// Inside tests/conformance, so that node_modules resolves.
const out = mkdtempSync(join(here, ".generated-"));
const ast = await openapiTS(new URL(`${base}/openapi.json`));
writeFileSync(join(out, "authd.d.ts"), astToString(ast));
cpSync(join(here, "typescript_client.ts"), join(out, "client.ts"));
writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module" }));
const tsc = join(here, "node_modules/typescript/bin/tsc");
process.on("exit", () => rmSync(out, { recursive: true, force: true }));
try {
  execFileSync(process.execPath, [tsc, "--strict", "--target", "es2022", "--module", "nodenext",
    "--moduleResolution", "nodenext", "--skipLibCheck", "--outDir", out, join(out, "client.ts")],
    { stdio: "pipe" });
} catch (e) {
  console.error(String(e.stdout), String(e.stderr));
  process.exit(1);
}
execFileSync(process.execPath, [join(out, "client.js"), base, ...args], { stdio: "inherit" });
