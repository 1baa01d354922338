// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 for tests only: anyone may mint.
contract TestToken is ERC20 {
    uint8 private immutable _decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Mints `amount` base units to `to`.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @notice A hostile ERC-20 for tests only: on every transfer it first calls `target` with
/// `payload` (for instance `release(id)` on the contract that is transferring), and bubbles up
/// the callee's revert so a test sees the callee's custom error.
contract ReentrantToken is TestToken {
    address public target;
    bytes public payload;

    constructor() TestToken("Reentrant", "REE", 18) {}

    /// @notice Arms the hook; an empty payload disarms it.
    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function _update(address from, address to, uint256 value) internal override {
        bytes memory data = payload;
        if (data.length != 0 && from != address(0)) {
            delete payload;
            (bool ok, bytes memory ret) = target.call(data);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
        super._update(from, to, value);
    }
}

/// @notice A misbehaving ERC-20 for tests only: it keeps `feeBps` of every transfer between two
/// accounts (a fee-on-transfer token), and `rebase` takes tokens from any account (a rebasing
/// token's negative rebase), so a test sees how the manager refuses both.
contract FeeOnTransferToken is TestToken {
    uint256 public feeBps;

    constructor() TestToken("Fee", "FEE", 18) {}

    /// @notice Sets the fee, in basis points of each transfer.
    function setFee(uint256 feeBps_) external {
        feeBps = feeBps_;
    }

    /// @notice Burns `amount` of `account`'s balance, as a negative rebase would.
    function rebase(address account, uint256 amount) external {
        _burn(account, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        uint256 fee = from == address(0) || to == address(0) ? 0 : value * feeBps / 10_000;
        if (fee != 0) super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
