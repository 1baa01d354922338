// An independent EIP-712 implementation for tokencomp's milestone attestations: ethers v6
// (pinned in package-lock.json) signs and recovers the same typed data the Rust signer and the
// contract use, so the Rust test `crates/chain/tests/it/attest.rs` can cross-check both ways.
//
//   node test/eip712.mjs sign     < {"key": "0x…", "attestation": {…}, "domain": {…}}
//     prints the submission: {"attestation", "domain", "signature", "digest"}
//   node test/eip712.mjs recover  < {"attestation": {…}, "domain": {…}, "signature": "0x…"}
//     prints {"address", "digest"}
//
// The JSON shapes are the submission file's (`Submission::to_json`): the attestation with its
// typed-data field names, integers as decimal strings; the domain with name, version, chainId and
// verifyingContract. Nothing here is shared with the Rust code but that file format.
import { Wallet, TypedDataEncoder, verifyTypedData } from "ethers";

const types = {
  Attestation: [
    { name: "milestone", type: "string" },
    { name: "metric", type: "string" },
    { name: "value", type: "int256" },
    { name: "subject", type: "string" },
    { name: "observedAt", type: "uint64" },
    { name: "expiresAt", type: "uint64" },
    { name: "oracle", type: "address" },
    { name: "nonce", type: "uint64" },
  ],
};

async function stdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

const mode = process.argv[2];
const input = await stdin();
const { domain, attestation } = input;
if (mode === "sign") {
  const wallet = new Wallet(input.key);
  const signature = await wallet.signTypedData(domain, types, attestation);
  const digest = TypedDataEncoder.hash(domain, types, attestation);
  process.stdout.write(JSON.stringify({ attestation, domain, signature, digest }) + "\n");
} else if (mode === "recover") {
  const address = verifyTypedData(domain, types, attestation, input.signature);
  const digest = TypedDataEncoder.hash(domain, types, attestation);
  process.stdout.write(JSON.stringify({ address, digest }) + "\n");
} else {
  process.stderr.write("usage: node test/eip712.mjs sign|recover < input.json\n");
  process.exit(2);
}
