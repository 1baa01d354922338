// The development node the tests start (`scripts/node.sh`): Hardhat 2's in-process network served
// over JSON-RPC on 127.0.0.1. It matches the embedded chain: chain 31337, a 60M block gas limit, a
// zero base fee (so transactions signed with a zero fee are valid on both), and a genesis in 2023,
// before the sample company's first vest, so blocks can be given the company's past dates.
module.exports = {
  solidity: "0.8.28",
  networks: {
    hardhat: {
      chainId: 31337,
      blockGasLimit: 60000000,
      initialBaseFeePerGas: 0,
      initialDate: "2023-01-01T00:00:00Z",
      mining: { auto: true },
    },
  },
};
