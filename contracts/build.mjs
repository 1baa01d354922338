// Compiles the Solidity sources with the pinned solc-js (npm `solc`, a WebAssembly build: nothing
// downloads a compiler binary) and writes one JSON artifact per deployable contract into
// artifacts/. `node build.mjs --check` compiles in memory and fails, naming each stale artifact,
// when the committed artifacts differ from what the sources compile to.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const root = dirname(fileURLToPath(import.meta.url));
const artifactsDir = join(root, "artifacts");

// Every deployable contract that gets an artifact: [source file, contract name].
const CONTRACTS = [
  ["src/VestingManager.sol", "VestingManager"],
  ["src/test/TestToken.sol", "TestToken"],
  ["src/test/TestToken.sol", "ReentrantToken"],
  ["src/test/ReferenceVestingWalletCliff.sol", "ReferenceVestingWalletCliff"],
];

// Fixed settings, so the same sources always give the same bytes.
const SETTINGS = {
  optimizer: { enabled: true, runs: 10000 },
  evmVersion: "cancun",
  metadata: { bytecodeHash: "ipfs" },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers", "metadata"] },
  },
};

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

// Resolves an import: sources of this project first, then node_modules (OpenZeppelin).
function readSource(path) {
  for (const candidate of [join(root, path), join(root, "node_modules", path)]) {
    if (existsSync(candidate)) return readFileSync(candidate, "utf8");
  }
  return null;
}

function compile() {
  const sources = {};
  for (const [file] of CONTRACTS) sources[file] = { content: readSource(file) };
  const input = { language: "Solidity", sources, settings: SETTINGS };
  const loaded = {};
  const findImports = (path) => {
    const content = readSource(path);
    if (content === null) return { error: `import not found: ${path}` };
    loaded[path] = content;
    return { contents: content };
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  // OpenZeppelin's own warnings (transient storage in its reentrancy guard) are known and reviewed.
  for (const e of output.errors ?? []) {
    if (e.severity === "error" || !e.sourceLocation?.file?.startsWith("@openzeppelin/")) console.error(e.formattedMessage);
  }
  if (errors.length > 0) throw new Error(`solc reported ${errors.length} error(s)`);
  const allSources = { ...Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, v.content])), ...loaded };

  const artifacts = {};
  for (const [file, name] of CONTRACTS) {
    const c = output.contracts[file][name];
    const metadata = JSON.parse(c.metadata);
    // The exact inputs of this contract (its own file and everything it imports), by hash.
    const inputs = {};
    for (const path of Object.keys(metadata.sources).sort()) inputs[path] = sha256(allSources[path]);
    const artifact = {
      contractName: name,
      sourceName: file,
      compiler: {
        name: "solc-js",
        version: solc.version(),
        optimizer: SETTINGS.optimizer,
        evmVersion: SETTINGS.evmVersion,
      },
      sourceSha256: inputs[file],
      sources: inputs,
      abi: c.abi,
      methodIdentifiers: c.evm.methodIdentifiers,
      bytecode: `0x${c.evm.bytecode.object}`,
      deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
    };
    artifacts[`${name}.json`] = `${JSON.stringify(artifact, null, 2)}\n`;
  }
  return artifacts;
}

function main() {
  const check = process.argv.includes("--check");
  const artifacts = compile();
  if (!check) {
    mkdirSync(artifactsDir, { recursive: true });
    for (const [file, text] of Object.entries(artifacts)) writeFileSync(join(artifactsDir, file), text);
    console.log(`wrote ${Object.keys(artifacts).length} artifacts to ${artifactsDir} (solc ${solc.version()})`);
    return;
  }
  const stale = [];
  for (const [file, text] of Object.entries(artifacts)) {
    const path = join(artifactsDir, file);
    if (!existsSync(path)) stale.push(`artifacts/${file} is missing`);
    else if (readFileSync(path, "utf8") !== text) stale.push(`artifacts/${file} differs from what the sources compile to`);
  }
  const present = existsSync(artifactsDir) ? readdirSync(artifactsDir) : [];
  for (const file of present) {
    if (!(file in artifacts)) stale.push(`artifacts/${file} is not produced by any source`);
  }
  if (stale.length > 0) {
    for (const line of stale) console.error(`error: stale contract artifact: ${line}`);
    console.error("  rebuild with: (cd contracts && node build.mjs)");
    process.exit(1);
  }
  console.log(`contract artifacts are up to date (${Object.keys(artifacts).length}, solc ${solc.version()})`);
}

main();
