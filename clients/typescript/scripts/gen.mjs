// Generates src/gen/ from ../../protos with ts-proto, using the protoc bundled in the repo venv's grpc_tools.
// PYTHON overrides the interpreter (it must have grpcio-tools installed).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const protoRoot = resolve(root, "../../protos");
const protoDir = join(protoRoot, "llmspell/sessions/v1");
const python = process.env.PYTHON ?? resolve(root, "../../.venv/bin/python");
const plugin = join(root, "node_modules/.bin/protoc-gen-ts_proto");
const out = join(root, "src/gen");

if (!existsSync(python)) {
  console.error(`gen: ${python} not found; run 'make install' at the repo root or set PYTHON`);
  process.exit(1);
}
const options = [
  "outputServices=grpc-js",
  "env=node",
  "esModuleInterop=true",
  "importSuffix=.js",
  "useDate=true",
  "forceLong=number",
  "oneof=properties",
  "unrecognizedEnum=true",
].join(",");
const protos = readdirSync(protoDir).filter((f) => f.endsWith(".proto")).map((f) => join(protoDir, f));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(
  python,
  ["-m", "grpc_tools.protoc", `-I${protoRoot}`, `--plugin=protoc-gen-ts_proto=${plugin}`,
    `--ts_proto_out=${out}`, `--ts_proto_opt=${options}`, ...protos],
  { stdio: "inherit" },
);
console.error(`gen: ${protos.length} protos -> src/gen`);
