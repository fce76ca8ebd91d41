// Installs the package as a user would and runs the examples against a live server:
//   npm pack → a throwaway project outside the repository → npm install ./llmspell-sessions-X.tgz →
//   import AND require it → compile examples/typescript/*.ts against the installed types → run them.
// Needs `make build` first (for dist/test/live.js, which starts the real server).
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, SKIP_LIVE } from "../dist/test/live.js";

const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const examples = resolve(here, "../../examples/typescript");
const npm = process.env.NPM ?? "npm";
const run = (cmd, args, options = {}) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", ...options });
const check = (ok, what) => {
  if (!ok) throw new Error(`consumer: ${what}`);
  console.log(`consumer: ok ${what}`);
};

const work = mkdtempSync(join(tmpdir(), "llmspell-ts-consumer-"));
try {
  const packOutput = run(npm, ["pack", "--json", "--pack-destination", work], { cwd: here });
  const [packed] = JSON.parse(packOutput.slice(packOutput.indexOf("[")));
  const files = packed.files.map((f) => f.path);
  check(files.includes("dist/src/index.js") && files.includes("dist/src/index.d.ts") && files.includes("src/index.ts"),
    `${packed.filename} ships dist/src, its types and the sources (${files.length} files)`);
  check(!files.some((f) => /interop|^test\/|^dist\/test|\.stamp$/.test(f)), "the interop driver and tests are not shipped");

  const app = join(work, "app");
  mkdirSync(join(app, "src"), { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
  run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, packed.filename),
    "typescript@~5.9.3", "@types/node@^20.19.0"], { cwd: app });
  const installed = join(app, "node_modules/@llmspell/sessions");

  const maps = readdirSync(join(installed, "dist/src"), { recursive: true }).filter((f) => String(f).endsWith(".map"));
  const missing = maps.flatMap((map) => {
    const path = join(installed, "dist/src", String(map));
    return JSON.parse(readFileSync(path, "utf8")).sources.map((s) => resolve(dirname(path), s)).filter((s) => !existsSync(s));
  });
  check(maps.length > 0 && missing.length === 0, `all ${maps.length} source maps point at shipped files ${missing.slice(0, 3)}`);

  const server = SKIP_LIVE ? undefined : await startServer();
  try {
    const target = server?.target ?? "127.0.0.1:1";
    const env = { ...process.env, LLMSPELL_SESSION_ADDRESS: target };
    writeFileSync(join(app, "esm.mjs"), `import { connect, SessionsError } from "@llmspell/sessions";
import { Session } from "@llmspell/sessions/proto";
const client = connect();
const s = await client.sessions.createSession({ name: "esm" });
console.log(typeof SessionsError, Session.toJSON(s).name);
client.close();
`);
    writeFileSync(join(app, "cjs.cjs"), `const { connect, SessionsError } = require("@llmspell/sessions");
const { Session } = require("@llmspell/sessions/proto");
const client = connect();
client.sessions.createSession({ name: "cjs" }).then((s) => {
  console.log(typeof SessionsError, Session.toJSON(s).name);
  client.close();
}, (e) => { console.error(e); process.exitCode = 1; client.close(); });
`);
    if (server) {
      check(run("node", ["esm.mjs"], { cwd: app, env }).trim() === "function esm", "import() of the package works");
      check(run("node", ["cjs.cjs"], { cwd: app, env }).trim() === "function cjs", "require() of the package works");
    }
    for (const file of readdirSync(examples).filter((f) => f.endsWith(".ts"))) cpSync(join(examples, file), join(app, "src", file));
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true,
        outDir: "dist", rootDir: "src", types: ["node"], skipLibCheck: false },
      include: ["src"],
    }, null, 2));
    run(join(app, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], { cwd: app, stdio: "inherit" });
    check(true, "the examples compile against the installed types");
    if (server) {
      for (const example of ["basic", "artifacts"]) {
        const out = run("node", [`dist/${example}.js`], { cwd: app, env });
        check(out.includes(`${example} example ok`), `examples/typescript/${example}.ts runs against the server`);
      }
    }
  } finally {
    await server?.stop();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
