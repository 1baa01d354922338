// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {VestingWallet} from "@openzeppelin/contracts/finance/VestingWallet.sol";
import {VestingWalletCliff} from "@openzeppelin/contracts/finance/VestingWalletCliff.sol";

/// @notice OpenZeppelin's VestingWalletCliff, unchanged, made deployable: the reference that the
/// engine's OpenZeppelin linear mode and VestingManager's LINEAR grants are tested against, and
/// the gas baseline for release.
contract ReferenceVestingWalletCliff is VestingWalletCliff {
    constructor(address beneficiary, uint64 startTimestamp, uint64 durationSeconds, uint64 cliffSeconds)
        VestingWallet(beneficiary, startTimestamp, durationSeconds)
        VestingWalletCliff(cliffSeconds)
    {}
}
