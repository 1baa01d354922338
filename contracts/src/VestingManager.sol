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

    /// @notice A grant's state, packed so a tranched release reads three slots and writes one.
    struct Grant {
        // slot 0: read by every release
        address beneficiary;
        Kind kind;
        uint24 trancheCount;
        uint64 pausedAt; // 0 when not paused
        // slot 1: written by every release
        uint128 released;
        uint64 checkpoint; // last release or resume; earlier timestamps are refused
        uint32 cursor; // tranches [0, cursor) are released
        uint32 withholdingUntil; // no withholding posted at or after this tranche index
        // slot 2
        uint128 total;
        uint64 pausedSeconds; // sum of completed pauses
        uint64 revokedAt; // 0 when not revoked
        // slot 3: LINEAR only
        uint64 start;
        uint64 cliff;
        uint64 end;
    }

    /// @notice The token every grant is paid in.
    IERC20 public immutable token;
    /// @notice Funds new grants (it approves this contract) and receives revoked tokens.
    address public treasury;
    /// @notice Receives the tokens withheld for tax at release.
    address public taxWallet;

    mapping(bytes32 id => Grant) private _grants;
    mapping(bytes32 id => mapping(uint256 index => Tranche)) private _tranches;
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
    event Released(
        bytes32 indexed id, address indexed beneficiary, uint128 net, uint128 withheld, uint128 releasedTotal
    );
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
        Grant storage g = _existing(id);
        emit BeneficiaryChanged(id, g.beneficiary, beneficiary);
        g.beneficiary = beneficiary;
    }

    /// @notice Revokes a grant as of `effectiveAt`: what is unvested then goes back to the treasury
    /// now, and what is vested stays releasable. `effectiveAt` may be in the future.
    function revoke(bytes32 id, uint64 effectiveAt) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        Grant storage g = _existing(id);
        if (g.revokedAt != 0) revert GrantRevoked(id);
        if (effectiveAt == 0 || effectiveAt < g.checkpoint) {
            revert TimestampOutOfRange(id, effectiveAt, _max(g.checkpoint, 1), type(uint64).max);
        }
        uint128 vested = _vestedAt(g, id, effectiveAt);
        uint128 returned = g.total - vested;
        g.revokedAt = effectiveAt;
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
        Grant storage g = _existing(id);
        if (g.kind != Kind.Tranched) revert NotTranched(id);
        if (index >= g.trancheCount) revert TrancheOutOfRange(id, index, g.trancheCount);
        if (index < g.cursor) revert TrancheAlreadyReleased(id, index);
        mapping(uint256 => Tranche) storage ts = _tranches[id];
        uint128 amount = ts[index].cumulative - (index == 0 ? 0 : ts[index - 1].cumulative);
        if (tokens > amount) revert WithholdingExceedsTranche(id, index, tokens, amount);
        _withholding[id][index] = tokens;
        // index < trancheCount < 2^24, so the cast is exact.
        if (index >= g.withholdingUntil) g.withholdingUntil = uint32(index + 1);
        emit WithholdingPosted(id, index, tokens);
    }

    /// @notice Pauses vesting (a leave) from `at`, which must be between the grant's checkpoint and now.
    function pause(bytes32 id, uint64 at) external onlyRole(OPERATOR_ROLE) {
        Grant storage g = _existing(id);
        if (g.revokedAt != 0) revert GrantRevoked(id);
        if (g.pausedAt != 0) revert GrantPaused(id);
        _checkPast(id, at, g.checkpoint);
        g.pausedAt = at;
        emit Paused(id, at);
    }

    /// @notice Resumes vesting at `at` (between the pause and now); later vesting shifts by the pause.
    function resume(bytes32 id, uint64 at) external onlyRole(OPERATOR_ROLE) {
        Grant storage g = _existing(id);
        if (g.revokedAt != 0) revert GrantRevoked(id);
        uint64 pausedAt = g.pausedAt;
        if (pausedAt == 0) revert GrantNotPaused(id);
        _checkPast(id, at, pausedAt);
        g.pausedSeconds += at - pausedAt;
        g.pausedAt = 0;
        g.checkpoint = at;
        emit Resumed(id, at, g.pausedSeconds);
    }

    // ----------------------------------------------------------------- anyone

    /// @notice Releases everything vested and not yet released. Anyone may call it; the net tokens
    /// always go to the grant's beneficiary and the withheld tokens to the tax wallet.
    /// @dev Gas grows only with the tranches crossed since the last release, never with the schedule.
    function release(bytes32 id) external nonReentrant {
        Grant storage g = _existing(id);
        if (g.pausedAt != 0 && g.revokedAt == 0) revert GrantPaused(id);
        uint64 now_ = uint64(block.timestamp);
        uint64 t = _effective(g, now_);
        uint128 vested;
        uint128 withheld;
        if (g.kind == Kind.Tranched) {
            uint256 i = g.cursor;
            uint256 count = g.trancheCount;
            uint256 until = g.withholdingUntil;
            mapping(uint256 => Tranche) storage ts = _tranches[id];
            vested = g.released;
            while (i < count) {
                Tranche storage tr = ts[i];
                if (tr.at > t) break;
                vested = tr.cumulative;
                if (i < until) withheld += _withholding[id][i];
                ++i;
            }
            // i <= trancheCount < 2^24, so the cast is exact.
            g.cursor = uint32(i);
        } else {
            vested = _linear(g, t);
        }
        uint128 amount = vested - g.released;
        if (amount == 0) revert NothingToRelease(id);
        g.released = vested;
        g.checkpoint = now_;
        uint128 net = amount - withheld;
        address beneficiary = g.beneficiary;
        emit Released(id, beneficiary, net, withheld, vested);
        if (net != 0) token.safeTransfer(beneficiary, net);
        if (withheld != 0) token.safeTransfer(taxWallet, withheld);
    }

    // ------------------------------------------------------------------ views

    /// @notice Vested amount of a grant at `timestamp`, with its pauses and revocation applied.
    /// Exact for any timestamp at or after the grant's checkpoint (in particular for every
    /// timestamp of a grant never paused); earlier timestamps see the current pause shift.
    function vestedAt(bytes32 id, uint64 timestamp) external view returns (uint128) {
        Grant storage g = _existing(id);
        return _vestedAt(g, id, timestamp);
    }

    /// @notice What `release` would transfer now (net plus withheld).
    function releasable(bytes32 id) external view returns (uint128) {
        Grant storage g = _existing(id);
        if (g.pausedAt != 0 && g.revokedAt == 0) return 0;
        return _vestedAt(g, id, uint64(block.timestamp)) - g.released;
    }

    /// @notice A grant's full state.
    function grantOf(bytes32 id) external view returns (Grant memory) {
        return _existing(id);
    }

    /// @notice Tranche `index` of a tranched grant.
    function trancheOf(bytes32 id, uint256 index) external view returns (Tranche memory) {
        Grant storage g = _existing(id);
        if (index >= g.trancheCount) revert TrancheOutOfRange(id, index, g.trancheCount);
        return _tranches[id][index];
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
        Grant storage g = _grants[id];
        if (g.kind != Kind.None) revert GrantExists(id);
        uint256 n = input.tranches.length;
        if (input.kind == Kind.Tranched) {
            if (n == 0) revert EmptySchedule(id);
            if (n > type(uint24).max) revert TooManyTranches(id, n);
            mapping(uint256 => Tranche) storage ts = _tranches[id];
            Tranche calldata prev = input.tranches[0];
            ts[0] = prev;
            for (uint256 i = 1; i < n; ++i) {
                Tranche calldata tr = input.tranches[i];
                if (tr.at < prev.at || tr.cumulative < prev.cumulative) revert TranchesOutOfOrder(id, i);
                ts[i] = tr;
                prev = tr;
            }
            if (prev.cumulative != input.total) revert TotalMismatch(id, input.total, prev.cumulative);
            // n <= type(uint24).max was checked above.
            g.trancheCount = uint24(n);
        } else if (input.kind == Kind.Linear) {
            if (n != 0) revert UnexpectedTranches(id);
            if (input.start > input.cliff || input.cliff > input.end) {
                revert InvalidLinearSchedule(id, input.start, input.cliff, input.end);
            }
            g.start = input.start;
            g.cliff = input.cliff;
            g.end = input.end;
        } else {
            revert InvalidKind(id);
        }
        g.beneficiary = input.beneficiary;
        g.kind = input.kind;
        g.total = input.total;
        emit GrantCreated(id, input.beneficiary, input.kind, input.total, input.start, input.cliff, input.end, n);
        return input.total;
    }

    function _existing(bytes32 id) private view returns (Grant storage g) {
        g = _grants[id];
        if (g.kind == Kind.None) revert UnknownGrant(id);
    }

    /// Effective schedule time at `t`: frozen at the revocation and while paused, minus the pauses.
    function _effective(Grant storage g, uint64 t) private view returns (uint64) {
        uint64 revokedAt = g.revokedAt;
        if (revokedAt != 0 && t > revokedAt) t = revokedAt;
        uint64 pausedAt = g.pausedAt;
        if (pausedAt != 0 && t > pausedAt) t = pausedAt;
        uint64 shift = g.pausedSeconds;
        return t > shift ? t - shift : 0;
    }

    function _vestedAt(Grant storage g, bytes32 id, uint64 timestamp) private view returns (uint128) {
        uint64 t = _effective(g, timestamp);
        if (g.kind == Kind.Linear) return _linear(g, t);
        // Binary search for the number of tranches with instant <= t.
        mapping(uint256 => Tranche) storage ts = _tranches[id];
        uint256 lo = 0;
        uint256 hi = g.trancheCount;
        while (lo < hi) {
            uint256 mid = (lo + hi) >> 1;
            if (ts[mid].at <= t) lo = mid + 1;
            else hi = mid;
        }
        return lo == 0 ? 0 : ts[lo - 1].cumulative;
    }

    /// OpenZeppelin VestingWalletCliff's formula.
    function _linear(Grant storage g, uint64 t) private view returns (uint128) {
        uint64 start = g.start;
        uint64 end = g.end;
        if (t < g.cliff) return 0;
        if (t >= end) return g.total;
        // start <= cliff <= t < end; 128 + 64 bits fit in 256, and the quotient is below total.
        return uint128((uint256(g.total) * (t - start)) / (end - start));
    }

    function _checkPast(bytes32 id, uint64 at, uint64 earliest) private view {
        uint64 latest = uint64(block.timestamp);
        if (at == 0 || at < earliest || at > latest) revert TimestampOutOfRange(id, at, _max(earliest, 1), latest);
    }

    function _max(uint64 a, uint64 b) private pure returns (uint64) {
        return a > b ? a : b;
    }
}
