// Compiles the Solidity sources with the pinned solc-js (npm `solc`, a WebAssembly build: nothing
// downloads a compiler binary) and writes one JSON artifact per deployable contract into
// artifacts/, and a trimmed copy of each third-party contract we deploy as its npm package ships
// it compiled (Sablier, Uniswap V2, Safe) into artifacts/vendor/. `node build.mjs --check` builds
// both in memory and fails, naming each stale file, when the committed artifacts differ from what
// the sources compile to or from what node_modules holds.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const root = dirname(fileURLToPath(import.meta.url));
const artifactsDir = join(root, "artifacts");
const vendorDir = join(artifactsDir, "vendor");

// Every deployable contract that gets an artifact: [source file, contract name].
const CONTRACTS = [
  ["src/VestingManager.sol", "VestingManager"],
  ["src/VestingManager.sol", "VestingMilestones"],
  ["src/test/TestToken.sol", "TestToken"],
  ["src/test/TestToken.sol", "ReentrantToken"],
  ["src/test/TestToken.sol", "FeeOnTransferToken"],
  ["src/test/ReferenceVestingWalletCliff.sol", "ReferenceVestingWalletCliff"],
];

// Fixed settings, so the same sources always give the same bytes. `runs` trades code size for
// gas per call: 600 keeps VestingManager (with milestone verification) under EIP-170's 24,576-byte
// limit on deployed code, which every chain (and revm, and Hardhat) enforces.
const SETTINGS = {
  optimizer: { enabled: true, runs: 600 },
  evmVersion: "cancun",
  metadata: { bytecodeHash: "ipfs" },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers", "metadata"] },
  },
};

// Third-party contracts copied from their npm packages' own compiled artifacts (never recompiled
// here, so the bytes are the ones the publisher shipped): [package, artifact path in it, name].
// SablierLockup's creation code has library placeholders; the libraries it links against must be
// listed too (checked below).
const VENDOR = [
  ["@sablier/lockup", "artifacts/SablierLockup.json", "SablierLockup"],
  ["@sablier/lockup", "artifacts/SablierBatchLockup.json", "SablierBatchLockup"],
  ["@sablier/lockup", "artifacts/LockupNFTDescriptor.json", "LockupNFTDescriptor"],
  ["@sablier/lockup", "artifacts/libraries/LockupHelpers.json", "LockupHelpers"],
  ["@sablier/lockup", "artifacts/libraries/LockupMath.json", "LockupMath"],
  ["@uniswap/v2-core", "build/UniswapV2Factory.json", "UniswapV2Factory"],
  ["@uniswap/v2-core", "build/UniswapV2Pair.json", "UniswapV2Pair"],
  ["@safe-global/safe-contracts", "build/artifacts/contracts/Safe.sol/Safe.json", "Safe"],
  ["@safe-global/safe-contracts", "build/artifacts/contracts/proxies/SafeProxyFactory.sol/SafeProxyFactory.json", "SafeProxyFactory"],
  ["@safe-global/safe-contracts", "build/artifacts/contracts/libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json", "MultiSendCallOnly"],
  [
    "@safe-global/safe-contracts",
    "build/artifacts/contracts/handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
    "CompatibilityFallbackHandler",
  ],
];

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

// The three layouts the packages ship: Foundry (`bytecode.object`, `bytecode.linkReferences`),
// Waffle (`evm.bytecode.object` without 0x) and Hardhat (`bytecode` string, top-level
// `linkReferences`). Returns 0x-prefixed code and its link references.
function code(raw, which, linkKey) {
  const value = raw[which];
  const object = typeof value === "string" ? value : (value?.object ?? raw.evm?.[which]?.object);
  if (typeof object !== "string") throw new Error(`no ${which}`);
  const links = (typeof value === "object" ? value.linkReferences : undefined) ?? raw[linkKey] ?? raw.evm?.[which]?.linkReferences ?? {};
  return { hex: object.startsWith("0x") ? object : `0x${object}`, links };
}

// Every byte outside the link references must be hex, and every reference must cover a 20-byte
// `__...__` placeholder: otherwise linking by offset would patch the wrong bytes.
function checkPlaceholders(name, which, hex, links) {
  const chars = hex.slice(2).split("");
  for (const [file, libs] of Object.entries(links)) {
    for (const [lib, refs] of Object.entries(libs)) {
      for (const { start, length } of refs) {
        const at = 2 * start;
        const text = chars.slice(at, at + 2 * length).join("");
        if (length !== 20 || !/^__.{36}__$/.test(text)) {
          throw new Error(`${name}.${which}: link reference ${file}:${lib} at byte ${start} is not a placeholder`);
        }
        chars.fill("0", at, at + 2 * length);
      }
    }
  }
  if (!/^([0-9a-fA-F]{2})*$/.test(chars.join(""))) throw new Error(`${name}.${which} has placeholders without a link reference`);
}

function vendor() {
  const pins = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).dependencies;
  const out = {};
  for (const [pkg, path, name] of VENDOR) {
    const dir = join(root, "node_modules", pkg);
    const version = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
    // A node_modules installed from another lock would silently vendor other bytes.
    if (pins[pkg] !== version) {
      throw new Error(`node_modules holds ${pkg}@${version} but package.json pins ${pins[pkg]}; run npm ci in contracts/`);
    }
    const text = readFileSync(join(dir, path), "utf8");
    const raw = JSON.parse(text);
    const bytecode = code(raw, "bytecode", "linkReferences");
    const deployed = code(raw, "deployedBytecode", "deployedLinkReferences");
    checkPlaceholders(name, "bytecode", bytecode.hex, bytecode.links);
    checkPlaceholders(name, "deployedBytecode", deployed.hex, deployed.links);
    const artifact = {
      contractName: name,
      package: { name: pkg, version, artifact: path, artifactSha256: sha256(text) },
      abi: raw.abi,
      bytecode: bytecode.hex,
      deployedBytecode: deployed.hex,
    };
    if (Object.keys(bytecode.links).length > 0) artifact.linkReferences = bytecode.links;
    if (Object.keys(deployed.links).length > 0) artifact.deployedLinkReferences = deployed.links;
    out[`${name}.json`] = artifact;
  }
  // A contract deployed from these copies can only be linked against libraries copied with it.
  for (const artifact of Object.values(out)) {
    for (const libs of Object.values(artifact.linkReferences ?? {})) {
      for (const lib of Object.keys(libs)) {
        if (!(`${lib}.json` in out)) throw new Error(`${artifact.contractName} links ${lib}, which is not vendored`);
      }
    }
  }
  return Object.fromEntries(Object.entries(out).map(([file, a]) => [file, `${JSON.stringify(a, null, 2)}\n`]));
}

// Files in `dir` (not subdirectories) that differ from `expected`, are missing, or are extra.
function staleFiles(dir, label, expected, why, extra) {
  const stale = [];
  for (const [file, text] of Object.entries(expected)) {
    const path = join(dir, file);
    if (!existsSync(path)) stale.push(`${label}/${file} is missing`);
    else if (readFileSync(path, "utf8") !== text) stale.push(`${label}/${file} differs from ${why}`);
  }
  const present = existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()) : [];
  for (const { name } of present) {
    if (!(name in expected)) stale.push(`${label}/${name} ${extra}`);
  }
  return stale;
}

function main() {
  const check = process.argv.includes("--check");
  const artifacts = compile();
  const vendored = vendor();
  if (!check) {
    mkdirSync(vendorDir, { recursive: true });
    for (const [file, text] of Object.entries(artifacts)) writeFileSync(join(artifactsDir, file), text);
    for (const [file, text] of Object.entries(vendored)) writeFileSync(join(vendorDir, file), text);
    console.log(`wrote ${Object.keys(artifacts).length} artifacts to ${artifactsDir} (solc ${solc.version()})`);
    console.log(`wrote ${Object.keys(vendored).length} vendored artifacts to ${vendorDir}`);
    return;
  }
  const stale = [
    ...staleFiles(artifactsDir, "artifacts", artifacts, "what the sources compile to", "is not produced by any source"),
    ...staleFiles(vendorDir, "artifacts/vendor", vendored, "what node_modules holds", "is not a listed vendored contract"),
  ];
  if (stale.length > 0) {
    for (const line of stale) console.error(`error: stale contract artifact: ${line}`);
    console.error("  rebuild with: (cd contracts && node build.mjs)");
    process.exit(1);
  }
  console.log(
    `contract artifacts are up to date (${Object.keys(artifacts).length}, solc ${solc.version()}; ${Object.keys(vendored).length} vendored)`,
  );
}

main();
