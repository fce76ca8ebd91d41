// Live-test support: starts the repository's real server on 127.0.0.1:0 over a temporary directory.
// Set LLMSPELL_SESSIONS_SKIP_LIVE=1 to skip the live tests (they run by default).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** True when the live tests must be skipped (LLMSPELL_SESSIONS_SKIP_LIVE=1). */
export const SKIP_LIVE = process.env.LLMSPELL_SESSIONS_SKIP_LIVE === "1";

/** The repository root: the nearest ancestor of this file holding `pyproject.toml` and `protos/`. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(join(dir, "pyproject.toml")) && existsSync(join(dir, "protos")))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("live tests: cannot find the repository root above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** The server executable; a clear error when the venv is missing. */
export function serverBinary(): string {
  const binary = resolve(repoRoot(), ".venv/bin/llmspell-sessions");
  if (!existsSync(binary)) {
    throw new Error(`live tests: ${binary} is missing; run 'make install' at the repository root ` +
      "(or set LLMSPELL_SESSIONS_SKIP_LIVE=1 to skip them)");
  }
  return binary;
}

/** A running server and how to stop it. */
export interface LiveServer {
  /** `127.0.0.1:PORT`. */
  target: string;
  /** The data directory (also holds any config or certificate files written for it). */
  dir: string;
  stop(): Promise<void>;
}

/** Options of {@link startServer}: extra `serve` flags and a TOML config written to a file. */
export interface ServerOptions {
  args?: string[];
  config?: string;
  /** Files to write into the data directory's parent before starting (name → contents). */
  setup?: (dir: string) => Promise<string[]>;
}

/** Starts `llmspell-sessions serve --address 127.0.0.1:0` and waits for `serving on HOST:PORT`. */
export async function startServer(options: ServerOptions = {}): Promise<LiveServer> {
  const binary = serverBinary();
  const dir = await mkdtemp(join(tmpdir(), "llmspell-ts-live-"));
  const args = ["serve", "--address", "127.0.0.1:0", "--path", join(dir, "data"), "--no-access-log", ...(options.args ?? [])];
  if (options.config !== undefined) {
    await writeFile(join(dir, "config.toml"), options.config);
    args.push("--config", join(dir, "config.toml"));
  }
  if (options.setup) args.push(...(await options.setup(dir)));
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  const target = await servingAddress(child);
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    await rm(dir, { recursive: true, force: true });
  };
  return { target, dir, stop };
}

function servingAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolveTarget, reject) => {
    let log = "";
    const timer = setTimeout(() => fail(new Error("server did not start within 60 s")), 60_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${error.message}\n${log}`));
    };
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (text: string) => {
      log += text;
      const match = /serving on (\S+:\d+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolveTarget(match[1]!.replace(/^0\.0\.0\.0:/, "127.0.0.1:"));
      }
    });
    child.once("exit", (code) => fail(new Error(`server exited with ${code} before serving`)));
  });
}
