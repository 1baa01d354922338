// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title VestingManager
/// @notice Holds and releases many token grants of one ERC-20 token, each vesting exactly as
/// tokencomp's engine computes it, to the base unit.
/// @dev Two schedule kinds:
///  - TRANCHED: the engine pushes the whole schedule as (vest instant, cumulative amount) pairs;
///    an instant is 00:00 of the vest date in the company's time zone, in UTC unix seconds, and
///    the last cumulative is the total. vested(t) = cumulative of the last tranche at or before t.
///    Calendar-month steps with a cliff, fixed-day steps and custom tranches all arrive this way,
///    so month-end clamping and rounding are the engine's and never re-implemented here.
///  - LINEAR: OpenZeppelin VestingWalletCliff's formula: 0 before the cliff,
///    floor(total * (t - start) / (end - start)) before the end, the total from the end on.
/// Pauses (leave) shift later vesting by the paused seconds: a grant is evaluated at its
/// effective time, t minus the seconds it spent paused, frozen while paused and at revocation.
/// Every timestamp an admin or operator passes must not precede the grant's checkpoint (its
/// last release or resume), so nothing already released can stop being vested.
///
/// Milestones: a later issue adds oracle-signed milestone attestations. They will arrive as a
/// third kind (or as tranches whose instant is set when an attestation verifies) through a
/// function restricted to an ORACLE role; storage below leaves room for both (the `kind` byte
/// and per-tranche instants are the only things an attestation needs to change).
contract VestingManager is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Creates grants, posts withholding and records leave. The admin is DEFAULT_ADMIN_ROLE.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    enum Kind {
        None,
        Tranched,
        Linear
    }

    /// @notice One step of a tranched schedule: from `at` on, `cumulative` base units are vested.
    struct Tranche {
        uint64 at;
        uint128 cumulative;
    }

    /// @notice What `createGrants` takes for one grant. For TRANCHED, `start`, `cliff` and `end`
    /// are ignored and `total` must equal the last cumulative; for LINEAR, `tranches` must be empty
    /// and `start <= cliff <= end` (cliff = start for no cliff).
    struct GrantInput {
        bytes32 id;
        address beneficiary;
        Kind kind;
        uint128 total;
        uint64 start;
        uint64 cliff;
        uint64 end;
        Tranche[] tranches;
    }

    /// @notice One entry of `postWithholdings`.
    struct WithholdingInput {
        bytes32 id;
        uint256 index;
        uint128 tokens;
    }

    /// @notice A grant's full state as `grantOf` reports it (assembled from the packed storage below;
    /// a tranched grant's `released` is the sum of its released tranches).
    struct Grant {
        address beneficiary;
        Kind kind;
        uint24 trancheCount;
        uint64 pausedAt;
        uint128 released;
        uint64 checkpoint;
        uint32 cursor;
        uint32 withholdingUntil;
        uint128 total;
        uint64 pausedSeconds;
        uint64 revokedAt;
        uint64 start;
        uint64 cliff;
        uint64 end;
    }

    /// One slot, read and written by every release; non-zero from creation on (the beneficiary), so
    /// no release pays a zero-to-non-zero write. The checkpoint is a past block time (see `_now`).
    struct Hot {
        address beneficiary;
        uint8 flags; // kind in bits 0-1, then ADJUSTED and WITHHOLDING
        uint24 cursor; // tranches [0, cursor) are released
        uint24 trancheCount;
        uint40 checkpoint; // last release or resume; earlier timestamps are refused
    }

    /// Read by release only when the grant's ADJUSTED flag is set (it was paused or revoked).
    struct Leave {
        uint64 pausedAt; // 0 when not paused
        uint64 pausedSeconds; // sum of completed pauses
        uint64 revokedAt; // 0 when not revoked
        uint32 withholdingUntil; // no withholding posted at or after this tranche index
    }

    /// `released` is kept for LINEAR grants only (a tranched grant's is derived from its cursor).
    struct Amounts {
        uint128 total;
        uint128 released;
    }

    struct Window {
        uint64 start;
        uint64 cliff;
        uint64 end;
    }

    /// One tranche in one slot: its instant, the next tranche's instant (type(uint64).max after the
    /// last), and its own amount, so a release crossing one tranche reads one slot.
    struct Step {
        uint64 at;
        uint64 nextAt;
        uint128 amount;
    }

    uint8 private constant KIND_MASK = 3;
    uint8 private constant ADJUSTED = 4;
    uint8 private constant WITHHOLDING = 8;

    /// @notice The token every grant is paid in.
    IERC20 public immutable token;
    /// @notice Funds new grants (it approves this contract) and receives revoked tokens.
    address public treasury;
    /// @notice Receives the tokens withheld for tax at release.
    address public taxWallet;

    mapping(bytes32 id => Hot) private _hot;
    mapping(bytes32 id => Leave) private _leave;
    mapping(bytes32 id => Amounts) private _amounts;
    mapping(bytes32 id => Window) private _window;
    mapping(bytes32 id => mapping(uint256 index => Step)) private _steps;
    mapping(bytes32 id => mapping(uint256 index => uint128)) private _withholding;

    error ZeroAddress();
    error ZeroAmount(bytes32 id);
    error GrantExists(bytes32 id);
    error UnknownGrant(bytes32 id);
    error InvalidKind(bytes32 id);
    error EmptySchedule(bytes32 id);
    error TooManyTranches(bytes32 id, uint256 count);
    error UnexpectedTranches(bytes32 id);
    error TranchesOutOfOrder(bytes32 id, uint256 index);
    error TotalMismatch(bytes32 id, uint128 total, uint128 lastCumulative);
    error InvalidLinearSchedule(bytes32 id, uint64 start, uint64 cliff, uint64 end);
    error TimestampOutOfRange(bytes32 id, uint64 at, uint64 earliest, uint64 latest);
    error GrantRevoked(bytes32 id);
    error GrantPaused(bytes32 id);
    error GrantNotPaused(bytes32 id);
    error NothingToRelease(bytes32 id);
    error NotTranched(bytes32 id);
    error TrancheOutOfRange(bytes32 id, uint256 index, uint256 count);
    error TrancheAlreadyReleased(bytes32 id, uint256 index);
    error WithholdingExceedsTranche(bytes32 id, uint256 index, uint128 tokens, uint128 trancheAmount);
    error ClockOutOfRange(uint256 timestamp);

    event TreasuryChanged(address indexed previous, address indexed treasury);
    event TaxWalletChanged(address indexed previous, address indexed taxWallet);
    event GrantCreated(
        bytes32 indexed id,
        address indexed beneficiary,
        Kind kind,
        uint128 total,
        uint64 start,
        uint64 cliff,
        uint64 end,
        uint256 trancheCount
    );
    event GrantsFunded(address indexed treasury, uint256 count, uint256 amount);
    /// Compact, to keep release cheap: the wallet paid is the grant's beneficiary at the time (from
    /// GrantCreated and BeneficiaryChanged, and the token's Transfer log of the same transaction),
    /// and the running total is `grantOf(id).released`.
    event Released(bytes32 indexed id, uint128 net, uint128 withheld);
    event Revoked(bytes32 indexed id, uint64 effectiveAt, uint128 vested, uint128 returned);
    event Paused(bytes32 indexed id, uint64 at);
    event Resumed(bytes32 indexed id, uint64 at, uint64 pausedSeconds);
    event BeneficiaryChanged(bytes32 indexed id, address indexed previous, address indexed beneficiary);
    event WithholdingPosted(bytes32 indexed id, uint256 indexed index, uint128 tokens);

    /// @param token_ The ERC-20 token of every grant.
    /// @param admin Holds DEFAULT_ADMIN_ROLE (a Safe in production).
    /// @param operator Holds OPERATOR_ROLE (the engine's signer); may be the zero address.
    /// @param treasury_ Funds grants and receives revoked tokens.
    /// @param taxWallet_ Receives withheld tokens.
    constructor(IERC20 token_, address admin, address operator, address treasury_, address taxWallet_) {
        if (address(token_) == address(0) || admin == address(0) || treasury_ == address(0)) revert ZeroAddress();
        if (taxWallet_ == address(0)) revert ZeroAddress();
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (operator != address(0)) _grantRole(OPERATOR_ROLE, operator);
        treasury = treasury_;
        taxWallet = taxWallet_;
        emit TreasuryChanged(address(0), treasury_);
        emit TaxWalletChanged(address(0), taxWallet_);
    }

    // ------------------------------------------------------------------ admin

    /// @notice Sets the treasury that funds grants and receives revoked tokens.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        emit TreasuryChanged(treasury, treasury_);
        treasury = treasury_;
    }

    /// @notice Sets the wallet that receives withheld tokens.
    function setTaxWallet(address taxWallet_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (taxWallet_ == address(0)) revert ZeroAddress();
        emit TaxWalletChanged(taxWallet, taxWallet_);
        taxWallet = taxWallet_;
    }

    /// @notice Sends a grant's future releases to another wallet.
    function setBeneficiary(bytes32 id, address beneficiary) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (beneficiary == address(0)) revert ZeroAddress();
        Hot storage h = _existing(id);
        emit BeneficiaryChanged(id, h.beneficiary, beneficiary);
        h.beneficiary = beneficiary;
    }

    /// @notice Revokes a grant as of `effectiveAt`: what is unvested then goes back to the treasury
    /// now, and what is vested stays releasable. `effectiveAt` may be in the future.
    function revoke(bytes32 id, uint64 effectiveAt) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        Hot storage h = _existing(id);
        Leave storage l = _leave[id];
        if (l.revokedAt != 0) revert GrantRevoked(id);
        uint64 checkpoint = h.checkpoint;
        if (effectiveAt == 0 || effectiveAt < checkpoint) {
            revert TimestampOutOfRange(id, effectiveAt, _max(checkpoint, 1), type(uint64).max);
        }
        uint128 vested = _vestedAt(id, h.flags, effectiveAt);
        uint128 returned = _amounts[id].total - vested;
        l.revokedAt = effectiveAt;
        h.flags |= ADJUSTED;
        emit Revoked(id, effectiveAt, vested, returned);
        if (returned != 0) token.safeTransfer(treasury, returned);
    }

    // --------------------------------------------------------------- operator

    /// @notice Creates a batch of grants and pulls their total from the treasury in the same call.
    /// @dev Reverts the whole batch on the first invalid grant; ids must be new.
    function createGrants(GrantInput[] calldata inputs) external onlyRole(OPERATOR_ROLE) nonReentrant {
        uint256 sum;
        for (uint256 i = 0; i < inputs.length; ++i) {
            sum += _create(inputs[i]);
        }
        address from = treasury;
        emit GrantsFunded(from, inputs.length, sum);
        if (sum != 0) token.safeTransferFrom(from, address(this), sum);
    }

    /// @notice Posts the tokens to withhold for tax from tranche `index` of a tranched grant; they go
    /// to the tax wallet when the tranche is released. Posting again replaces the amount.
    function postWithholding(bytes32 id, uint256 index, uint128 tokens) external onlyRole(OPERATOR_ROLE) {
        _postWithholding(id, index, tokens);
    }

    /// @notice Posts many withholdings in one transaction, each as `postWithholding` would.
    function postWithholdings(WithholdingInput[] calldata inputs) external onlyRole(OPERATOR_ROLE) {
        for (uint256 i = 0; i < inputs.length; ++i) {
            _postWithholding(inputs[i].id, inputs[i].index, inputs[i].tokens);
        }
    }

    /// @notice Pauses vesting (a leave) from `at`, which must be between the grant's checkpoint and now.
    function pause(bytes32 id, uint64 at) external onlyRole(OPERATOR_ROLE) {
        Hot storage h = _existing(id);
        Leave storage l = _leave[id];
        if (l.revokedAt != 0) revert GrantRevoked(id);
        if (l.pausedAt != 0) revert GrantPaused(id);
        _checkPast(id, at, h.checkpoint);
        l.pausedAt = at;
        h.flags |= ADJUSTED;
        emit Paused(id, at);
    }

    /// @notice Resumes vesting at `at` (between the pause and now); later vesting shifts by the pause.
    function resume(bytes32 id, uint64 at) external onlyRole(OPERATOR_ROLE) {
        Hot storage h = _existing(id);
        Leave storage l = _leave[id];
        if (l.revokedAt != 0) revert GrantRevoked(id);
        uint64 pausedAt = l.pausedAt;
        if (pausedAt == 0) revert GrantNotPaused(id);
        _checkPast(id, at, pausedAt);
        uint64 shift = l.pausedSeconds + (at - pausedAt);
        l.pausedSeconds = shift;
        l.pausedAt = 0;
        // _checkPast proved at <= block.timestamp, and _now() proved that fits 40 bits.
        h.checkpoint = uint40(at);
        emit Resumed(id, at, shift);
    }

    // ----------------------------------------------------------------- anyone

    /// @notice Releases everything vested and not yet released. Anyone may call it; the net tokens
    /// always go to the grant's beneficiary and the withheld tokens to the tax wallet.
    /// @dev Gas grows only with the tranches crossed since the last release, never with the schedule.
    /// A grant never paused nor revoked reads its hot slot and the crossed tranches only.
    function release(bytes32 id) external nonReentrant {
        _release(id, true);
    }

    /// @notice Releases several grants in one transaction (an operator's periodic push). Grants with
    /// nothing to release, or paused, are skipped rather than failing the batch; an unknown id reverts.
    /// @return released How many grants released something (one `Released` event each).
    function releaseMany(bytes32[] calldata ids) external nonReentrant returns (uint256 released) {
        for (uint256 i = 0; i < ids.length; ++i) {
            if (_release(ids[i], false)) ++released;
        }
    }

    /// Releases one grant; `strict` reverts where a batch skips (paused, nothing to release).
    function _release(bytes32 id, bool strict) private returns (bool) {
        Hot storage h = _hot[id];
        uint8 flags = h.flags;
        if (flags == 0) revert UnknownGrant(id);
        uint40 now_ = _now();
        uint64 t = now_;
        uint256 until;
        if (flags & ADJUSTED != 0) {
            Leave storage l = _leave[id];
            uint64 revokedAt = l.revokedAt;
            uint64 pausedAt = l.pausedAt;
            if (pausedAt != 0 && revokedAt == 0) {
                if (strict) revert GrantPaused(id);
                return false;
            }
            t = _shift(t, pausedAt, l.pausedSeconds, revokedAt);
        }
        uint128 amount;
        uint128 withheld;
        if (flags & KIND_MASK == uint8(Kind.Tranched)) {
            if (flags & WITHHOLDING != 0) until = _leave[id].withholdingUntil;
            uint256 i = h.cursor;
            uint256 count = h.trancheCount;
            mapping(uint256 => Step) storage steps = _steps[id];
            while (i < count) {
                Step storage s = steps[i];
                if (s.at > t) break;
                // The amounts sum to the total (< 2^128), and each withholding is at most its amount.
                unchecked {
                    amount += s.amount;
                    if (i < until) withheld += _withholding[id][i];
                    ++i;
                }
                if (s.nextAt > t) break;
            }
            if (amount == 0) {
                if (strict) revert NothingToRelease(id);
                return false;
            }
            // i <= trancheCount < 2^24, so the cast is exact.
            h.cursor = uint24(i);
        } else {
            Amounts storage a = _amounts[id];
            uint128 vested = _linear(id, a.total, t);
            amount = vested - a.released;
            if (amount == 0) {
                if (strict) revert NothingToRelease(id);
                return false;
            }
            a.released = vested;
        }
        h.checkpoint = now_;
        uint128 net;
        unchecked {
            net = amount - withheld;
        }
        address beneficiary = h.beneficiary;
        emit Released(id, net, withheld);
        if (net != 0) token.safeTransfer(beneficiary, net);
        if (withheld != 0) token.safeTransfer(taxWallet, withheld);
        return true;
    }

    // ------------------------------------------------------------------ views

    /// @notice Vested amount of a grant at `timestamp`, with its pauses and revocation applied.
    /// Exact for any timestamp at or after the grant's checkpoint (in particular for every
    /// timestamp of a grant never paused); earlier timestamps see the current pause shift.
    function vestedAt(bytes32 id, uint64 timestamp) external view returns (uint128) {
        return _vestedAt(id, _existing(id).flags, timestamp);
    }

    /// @notice What `release` would transfer now (net plus withheld).
    function releasable(bytes32 id) external view returns (uint128) {
        Hot storage h = _existing(id);
        Leave storage l = _leave[id];
        if (l.pausedAt != 0 && l.revokedAt == 0) return 0;
        return _vestedAt(id, h.flags, uint64(block.timestamp)) - _released(id, h);
    }

    /// @notice A grant's full state.
    function grantOf(bytes32 id) external view returns (Grant memory g) {
        Hot storage h = _existing(id);
        Leave storage l = _leave[id];
        Window storage w = _window[id];
        g.beneficiary = h.beneficiary;
        g.kind = Kind(h.flags & KIND_MASK);
        g.trancheCount = h.trancheCount;
        g.pausedAt = l.pausedAt;
        g.released = _released(id, h);
        g.checkpoint = h.checkpoint;
        g.cursor = h.cursor;
        g.withholdingUntil = l.withholdingUntil;
        g.total = _amounts[id].total;
        g.pausedSeconds = l.pausedSeconds;
        g.revokedAt = l.revokedAt;
        g.start = w.start;
        g.cliff = w.cliff;
        g.end = w.end;
    }

    /// @notice Tranche `index` of a tranched grant.
    function trancheOf(bytes32 id, uint256 index) external view returns (Tranche memory) {
        Hot storage h = _existing(id);
        if (index >= h.trancheCount) revert TrancheOutOfRange(id, index, h.trancheCount);
        return Tranche({at: _steps[id][index].at, cumulative: _sumSteps(id, index + 1)});
    }

    /// @notice Tokens posted for withholding from tranche `index`.
    function withholdingOf(bytes32 id, uint256 index) external view returns (uint128) {
        return _withholding[id][index];
    }

    // --------------------------------------------------------------- internal

    function _create(GrantInput calldata input) private returns (uint128) {
        bytes32 id = input.id;
        if (input.beneficiary == address(0)) revert ZeroAddress();
        if (input.total == 0) revert ZeroAmount(id);
        Hot storage h = _hot[id];
        if (h.flags != 0) revert GrantExists(id);
        uint256 n = input.tranches.length;
        if (input.kind == Kind.Tranched) {
            if (n == 0) revert EmptySchedule(id);
            if (n > type(uint24).max) revert TooManyTranches(id, n);
            mapping(uint256 => Step) storage steps = _steps[id];
            uint64 prevAt = input.tranches[0].at;
            uint128 prevCum = input.tranches[0].cumulative;
            uint128 before;
            for (uint256 i = 1; i < n; ++i) {
                uint64 at = input.tranches[i].at;
                uint128 cum = input.tranches[i].cumulative;
                if (at < prevAt || cum < prevCum) revert TranchesOutOfOrder(id, i);
                // Checked above: the cumulatives never decrease.
                unchecked {
                    steps[i - 1] = Step({at: prevAt, nextAt: at, amount: prevCum - before});
                }
                before = prevCum;
                prevAt = at;
                prevCum = cum;
            }
            if (prevCum != input.total) revert TotalMismatch(id, input.total, prevCum);
            unchecked {
                steps[n - 1] = Step({at: prevAt, nextAt: type(uint64).max, amount: prevCum - before});
            }
        } else if (input.kind == Kind.Linear) {
            if (n != 0) revert UnexpectedTranches(id);
            if (input.start > input.cliff || input.cliff > input.end) {
                revert InvalidLinearSchedule(id, input.start, input.cliff, input.end);
            }
            _window[id] = Window({start: input.start, cliff: input.cliff, end: input.end});
        } else {
            revert InvalidKind(id);
        }
        // n <= type(uint24).max was checked above (and is 0 for LINEAR).
        _hot[id] = Hot({
            beneficiary: input.beneficiary,
            flags: uint8(input.kind),
            cursor: 0,
            trancheCount: uint24(n),
            checkpoint: 0
        });
        _amounts[id].total = input.total;
        emit GrantCreated(id, input.beneficiary, input.kind, input.total, input.start, input.cliff, input.end, n);
        return input.total;
    }

    function _postWithholding(bytes32 id, uint256 index, uint128 tokens) private {
        Hot storage h = _existing(id);
        if (h.flags & KIND_MASK != uint8(Kind.Tranched)) revert NotTranched(id);
        if (index >= h.trancheCount) revert TrancheOutOfRange(id, index, h.trancheCount);
        if (index < h.cursor) revert TrancheAlreadyReleased(id, index);
        uint128 amount = _steps[id][index].amount;
        if (tokens > amount) revert WithholdingExceedsTranche(id, index, tokens, amount);
        _withholding[id][index] = tokens;
        Leave storage l = _leave[id];
        // index < trancheCount < 2^24, so the cast is exact.
        if (index >= l.withholdingUntil) l.withholdingUntil = uint32(index + 1);
        h.flags |= WITHHOLDING;
        emit WithholdingPosted(id, index, tokens);
    }

    function _existing(bytes32 id) private view returns (Hot storage h) {
        h = _hot[id];
        if (h.flags == 0) revert UnknownGrant(id);
    }

    /// Block time as 40 bits (good until the year 36812): checkpoints are stored in 40 bits.
    function _now() private view returns (uint40) {
        if (block.timestamp > type(uint40).max) revert ClockOutOfRange(block.timestamp);
        return uint40(block.timestamp);
    }

    /// Effective schedule time at `t`: frozen at the revocation and while paused, minus the pauses.
    function _shift(uint64 t, uint64 pausedAt, uint64 shift, uint64 revokedAt) private pure returns (uint64) {
        if (revokedAt != 0 && t > revokedAt) t = revokedAt;
        if (pausedAt != 0 && t > pausedAt) t = pausedAt;
        return t > shift ? t - shift : 0;
    }

    function _vestedAt(bytes32 id, uint8 flags, uint64 timestamp) private view returns (uint128) {
        uint64 t = timestamp;
        if (flags & ADJUSTED != 0) {
            Leave storage l = _leave[id];
            t = _shift(t, l.pausedAt, l.pausedSeconds, l.revokedAt);
        }
        if (flags & KIND_MASK == uint8(Kind.Linear)) return _linear(id, _amounts[id].total, t);
        mapping(uint256 => Step) storage steps = _steps[id];
        uint256 count = _hot[id].trancheCount;
        uint128 vested;
        for (uint256 i = 0; i < count; ++i) {
            Step storage s = steps[i];
            if (s.at > t) break;
            vested += s.amount;
        }
        return vested;
    }

    /// Sum of the amounts of tranches [0, n).
    function _sumSteps(bytes32 id, uint256 n) private view returns (uint128 sum) {
        mapping(uint256 => Step) storage steps = _steps[id];
        for (uint256 i = 0; i < n; ++i) {
            sum += steps[i].amount;
        }
    }

    function _released(bytes32 id, Hot storage h) private view returns (uint128) {
        if (h.flags & KIND_MASK == uint8(Kind.Linear)) return _amounts[id].released;
        return _sumSteps(id, h.cursor);
    }

    /// OpenZeppelin VestingWalletCliff's formula.
    function _linear(bytes32 id, uint128 total, uint64 t) private view returns (uint128) {
        Window storage w = _window[id];
        uint64 start = w.start;
        uint64 end = w.end;
        if (t < w.cliff) return 0;
        if (t >= end) return total;
        // start <= cliff <= t < end; 128 + 64 bits fit in 256, and the quotient is below total.
        return uint128((uint256(total) * (t - start)) / (end - start));
    }

    function _checkPast(bytes32 id, uint64 at, uint64 earliest) private view {
        uint64 latest = _now();
        if (at == 0 || at < earliest || at > latest) revert TimestampOutOfRange(id, at, _max(earliest, 1), latest);
    }

    function _max(uint64 a, uint64 b) private pure returns (uint64) {
        return a > b ? a : b;
    }
}
