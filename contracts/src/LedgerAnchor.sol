// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title LedgerAnchor
/// @notice Keeps the head of one off-chain, hash-chained ledger: its last event's hash and its
/// event count. A ledger that later lost events from its end, or whose history was edited and
/// re-hashed, no longer holds the anchored hash at the anchored count; one that only grew does.
/// @dev Kept apart from VestingManager on purpose: it moves no tokens and needs no roles beyond
/// its one writer, the account that deployed it. The head only moves forward: a lower count, or
/// another hash at the same count, is refused, so the latest anchor cannot be replaced by an
/// earlier or rewritten cut of the ledger. Every anchor is also logged, so the whole history of
/// heads can be read back.
contract LedgerAnchor {
    /// The only account that may anchor.
    address public immutable writer;
    /// The latest head: the ledger's last event hash (SHA-256), its event count, and when.
    bytes32 public head;
    uint64 public events;
    uint64 public anchoredAt;

    event Anchored(bytes32 indexed head, uint64 events, uint64 anchoredAt);

    error NotWriter(address caller);
    /// The given count is below the latest anchored one.
    error HeadGoesBack(uint64 latestEvents, uint64 givenEvents);
    /// The same count was anchored with another hash.
    error HeadRewritten(uint64 events, bytes32 latestHead, bytes32 givenHead);

    constructor() {
        writer = msg.sender;
    }

    /// @notice Records `newHead` after `newEvents` events; the same head again changes nothing.
    function anchor(bytes32 newHead, uint64 newEvents) external {
        if (msg.sender != writer) revert NotWriter(msg.sender);
        uint64 last = events;
        if (newEvents < last) revert HeadGoesBack(last, newEvents);
        if (newEvents == last && last != 0) {
            if (newHead != head) revert HeadRewritten(last, head, newHead);
            return;
        }
        head = newHead;
        events = newEvents;
        anchoredAt = uint64(block.timestamp);
        emit Anchored(newHead, newEvents, uint64(block.timestamp));
    }

    /// @notice The latest head: hash, event count and anchoring time (all zero before the first).
    function latest() external view returns (bytes32, uint64, uint64) {
        return (head, events, anchoredAt);
    }
}
