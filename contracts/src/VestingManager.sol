// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title VestingBase
/// @notice What VestingManager and its milestone module share: the types, the storage layout
/// (the module runs by DELEGATECALL on the manager's storage, so both must lay it out alike),
/// the errors and events, and the helpers both use.
abstract contract VestingBase is AccessControl, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;


    /// @notice Creates grants, posts withholding and records leave. The admin is DEFAULT_ADMIN_ROLE.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// INSTALLMENTS is TRANCHED with one step per installment of the grant's schedule, the
    /// pre-cliff ones at zero (the engine's `Schedule::installment_steps`): the only layout on
    /// which "n more steps elapsed" is the engine's "n more installments elapsed", so the only kind
    /// a PULL_FORWARD may move. A TRANCHED grant merges the installments before its cliff into one
    /// step, and counting steps there would release months early.
    enum Kind {
        None,
        Tranched,
        Linear,
        Installments
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

    uint8 internal constant KIND_MASK = 3;
    uint8 internal constant ADJUSTED = 4;
    uint8 internal constant WITHHOLDING = 8;
    uint8 internal constant MILESTONE = 16;

    // ------------------------------------------------------------ milestones

    /// @notice The EIP-712 type of an attestation, as the README documents it.
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(string milestone,string metric,int256 value,string subject,uint64 observedAt,uint64 expiresAt,address oracle,uint64 nonce)"
    );

    /// @notice What an oracle signs.
    struct Attestation {
        string milestone;
        string metric;
        int256 value;
        string subject;
        uint64 observedAt;
        uint64 expiresAt;
        address oracle;
        uint64 nonce;
    }

    /// @notice An attestation with the domain it claims to be signed for, so a wrong chain or
    /// contract is told apart from a bad signature.
    struct SignedAttestation {
        Attestation attestation;
        uint256 chainId;
        address verifyingContract;
        bytes signature;
    }

    enum Comparison {
        Gte,
        Gt,
        Lte,
        Lt,
        Eq
    }

    enum EffectKind {
        None,
        Unlock,
        PullForward,
        Scale,
        Graded
    }

    /// @notice One grant's effect of a milestone. UNLOCK vests `target`; SCALE vests `bps` of it;
    /// GRADED vests value / threshold of it, at most `bps` (the cap); PULL_FORWARD moves a tranched
    /// grant `periods` steps earlier (`target` and `bps` unused).
    struct EffectInput {
        bytes32 grant;
        EffectKind kind;
        uint32 periods;
        uint32 bps;
        uint128 target;
    }

    /// @notice What `defineMilestones` takes for one milestone. `subject` is `grant:<id>` or
    /// `team:<id>`; `deadline` the last second an observation counts for.
    struct MilestoneInput {
        string id;
        string metric;
        Comparison comparison;
        int256 threshold;
        string subject;
        uint64 deadline;
        uint32 quorum;
        EffectInput[] effects;
    }

    struct MilestoneDef {
        bytes32 metric;
        bytes32 subject;
        int256 threshold;
        uint64 deadline;
        uint32 quorum; // 0: no such milestone
        Comparison comparison;
        bool applied;
    }

    struct Effect {
        bytes32 grant;
        EffectKind kind;
        uint32 periods;
        uint32 bps;
        uint128 target;
        uint128 funded;
    }

    /// A grant's milestone state: funded performance amounts not yet resolved, performance amounts
    /// vested and released, the steps pulled forward, and when the last effect was applied.
    struct Perf {
        uint128 pending;
        uint128 bonus;
        uint128 bonusReleased;
        uint32 boost;
        uint64 appliedAt;
    }

    /// A grant's milestone state as it stood after an earlier application (block time `at`): the
    /// steps pulled forward and the performance amount vested by then. `Perf` holds the latest;
    /// a grant's second application at a later block pushes the one before, so a grant applied
    /// once pays nothing for this log. It lets a revocation dated before an application leave that
    /// application out (see `revoke`).
    struct Applied {
        uint64 at;
        uint32 boost;
        uint128 bonus;
    }

    /// One key of an oracle, valid from `from` until `until` (0: still valid).
    struct OracleKey {
        bytes32 oracle;
        uint64 from;
        uint64 until;
    }

    uint256 internal constant MAX_BPS = 20_000;
    uint256 internal constant FULL_BPS = 10_000;
    /// The index a set-level refusal names.
    uint256 internal constant WHOLE_SET = type(uint256).max;

    /// @notice The token every grant is paid in.
    IERC20 public immutable token;
    /// @notice Funds new grants (it approves this contract) and receives revoked tokens.
    address public treasury;
    /// @notice Receives the tokens withheld for tax at release.
    address public taxWallet;

    mapping(bytes32 id => Hot) internal _hot;
    mapping(bytes32 id => Leave) internal _leave;
    mapping(bytes32 id => Amounts) internal _amounts;
    mapping(bytes32 id => Window) internal _window;
    mapping(bytes32 id => mapping(uint256 index => Step)) internal _steps;
    mapping(bytes32 id => mapping(uint256 index => uint128)) internal _withholding;
    mapping(bytes32 id => Perf) internal _perf;
    mapping(bytes32 id => Applied[]) internal _applied;
    mapping(bytes32 milestone => MilestoneDef) internal _milestones;
    mapping(bytes32 milestone => Effect[]) internal _effects;
    mapping(address key => OracleKey) internal _keys;
    mapping(bytes32 oracle => address) internal _activeKey;
    mapping(bytes32 oracle => bool) internal _oracles;
    mapping(address key => mapping(uint64 nonce => bool)) internal _spent;

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
    /// The milestone module was called directly instead of through the manager.
    error NotDelegated();
    /// A transfer into the manager delivered less than it moved (a fee-on-transfer token, say):
    /// grants would be unfunded, so nothing is created or defined.
    error FundingShortfall(uint256 expected, uint256 received);
    /// The manager's balance cannot cover a payment owed from grant (or milestone) `id`: the
    /// token lost balance outside the manager (a rebasing token, which is unsupported).
    error Underfunded(bytes32 id, uint256 amount, uint256 balance);

    // Why an attestation, or a set of them, is refused: the engine's `Rejection` names, in the
    // order they are checked. `index` is the attestation's place in the set.
    error WrongChain(uint256 index, uint256 chainId);
    error WrongContract(uint256 index, address verifyingContract);
    error BadSignature(uint256 index);
    error UnregisteredOracle(uint256 index, address signer);
    error RevokedOracle(uint256 index, address signer);
    error Expired(uint256 index, uint64 expiresAt);
    error ReplayedNonce(uint256 index, address signer, uint64 nonce);
    /// `index` is WHOLE_SET (2^256 - 1) when the set names no milestone at all.
    error UnknownMilestone(uint256 index);
    error WrongSubject(uint256 index);
    error WrongMetric(uint256 index);
    error PastDeadline(uint256 index, uint64 observedAt, uint64 deadline);
    error BelowThreshold(uint256 index, int256 value);
    error QuorumNotMet(uint256 oracles, uint256 quorum);
    error AlreadyApplied();

    error OracleExists(bytes32 oracle);
    error UnknownOracle(bytes32 oracle);
    error NoActiveKey(bytes32 oracle);
    error KeyInUse(address key);
    error MilestoneExists(bytes32 milestone);
    error InvalidMilestone(bytes32 milestone);
    error InvalidEffect(bytes32 milestone, uint256 index);
    /// A PULL_FORWARD effect names a grant whose steps are not one per installment (not created
    /// as INSTALLMENTS): counting its steps would release before the engine's vest.
    error NoInstallmentSteps(bytes32 milestone, uint256 index, bytes32 id);

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
    event OracleKeyAdded(bytes32 indexed oracle, address indexed key, string name);
    event OracleKeyEnded(bytes32 indexed oracle, address indexed key);
    event MilestoneDefined(bytes32 indexed milestone, string id, uint256 effects, uint256 funded);
    /// `value` is the lower median of the counted oracles' values.
    event MilestoneApplied(bytes32 indexed milestone, int256 value, uint256 oracles, uint256 returned);
    /// `amount` is the performance amount vested (UNLOCK, SCALE, GRADED) or the steps pulled.
    event MilestoneEffectApplied(bytes32 indexed milestone, bytes32 indexed id, EffectKind kind, uint128 amount);
    event NonceSpent(address indexed oracle, uint64 nonce);

    constructor(IERC20 token_) EIP712("tokencomp", "1") {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
    }

    function _digest(Attestation calldata a) internal view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ATTESTATION_TYPEHASH,
                    keccak256(bytes(a.milestone)),
                    keccak256(bytes(a.metric)),
                    a.value,
                    keccak256(bytes(a.subject)),
                    a.observedAt,
                    a.expiresAt,
                    a.oracle,
                    a.nonce
                )
            )
        );
    }

    /// floor(amount * bps / 10_000); bps <= 20_000, so it fits in 128 bits.
    function _bpsOf(uint128 amount, uint256 bps) internal pure returns (uint128) {
        return uint128(Math.mulDiv(amount, bps, FULL_BPS));
    }

    /// Pulls `amount` from `from` and checks that all of it arrived: a token that keeps a fee on
    /// transfer (or delivers less for any reason) would leave what was just created unfunded.
    function _pull(address from, uint256 amount) internal {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 held = token.balanceOf(address(this));
        if (held < before + amount) revert FundingShortfall(amount, held > before ? held - before : 0);
    }

    /// Pays `amount` owed from grant (or milestone) `id`. A refusal is named `Underfunded` when the
    /// balance cannot cover it, else the token's own error is raised (the failed call changed
    /// nothing, so sending it again raises the same error). Costs nothing more than safeTransfer
    /// when it succeeds.
    function _pay(bytes32 id, address to, uint256 amount) internal {
        IERC20 t = token;
        bool ok;
        assembly ("memory-safe") {
            // transfer(to, amount) in scratch space and the free memory, as SafeERC20 does.
            let ptr := mload(0x40)
            mstore(ptr, 0xa9059cbb00000000000000000000000000000000000000000000000000000000)
            mstore(add(ptr, 4), to)
            mstore(add(ptr, 36), amount)
            ok := call(gas(), t, 0, ptr, 68, 0, 0x20)
            // Success: no return data from a contract, or a returned true.
            ok := and(ok, or(and(iszero(returndatasize()), gt(extcodesize(t), 0)), and(gt(returndatasize(), 31), eq(mload(0), 1))))
        }
        if (ok) return;
        uint256 balance = token.balanceOf(address(this));
        if (balance < amount) revert Underfunded(id, amount, balance);
        token.safeTransfer(to, amount);
    }

    function _existing(bytes32 id) internal view returns (Hot storage h) {
        h = _hot[id];
        if (h.flags == 0) revert UnknownGrant(id);
    }

    /// Block time as 40 bits (good until the year 36812): checkpoints are stored in 40 bits.
    function _now() internal view returns (uint40) {
        if (block.timestamp > type(uint40).max) revert ClockOutOfRange(block.timestamp);
        return uint40(block.timestamp);
    }

}

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
/// Milestones: the operator defines a milestone (a predicate over an attested metric, a subject, a
/// deadline, a k-of-n quorum) with its effect on each grant it moves, and funds what it may vest.
/// Anyone may then submit a set of EIP-712 attestations signed by registered oracle keys; the
/// contract checks them with the engine's rules and reasons (`tokencomp_core::attestation`), and
/// applies the effect once:
///  - UNLOCK / SCALE / GRADED: a performance amount vests at once (the unused funding goes back to
///    the treasury); GRADED scales by value / threshold, capped.
///  - PULL_FORWARD: an INSTALLMENTS grant counts `periods` more of its steps as elapsed. Such a
///    grant has one step per installment (pre-cliff ones at zero), so "n steps elapsed" is
///    exactly the engine's "n installments elapsed"; `defineMilestones` refuses a pull forward on
///    any other grant (`NoInstallmentSteps`), whose merged cliff step would release early.
/// An effect counts from the block it was applied in; the engine dates it to the start of that
/// local day. Nothing can be released in between, so every release agrees. An effect applied
/// after a revocation's effective time counts for nothing (see `revoke`).
///
/// Trusted powers, decided for issue 15 (as OpenZeppelin's AccessControl roles are trusted): the
/// operator may post withholding of up to 100% of an unreleased tranche and pause a grant for as
/// long as it likes, and the admin may revoke. None of them can send a token anywhere but to the
/// beneficiary, the tax wallet or the treasury; each use is an event that reconciliation checks
/// against the ledger; in production the admin is a Safe.
///
/// Tokens: a plain ERC-20. Fee-on-transfer tokens are refused where they would bite (every
/// transfer into the manager checks the balance it gained: `FundingShortfall`); rebasing tokens
/// are unsupported (as for Sablier and OpenZeppelin's VestingWallet), and a payment the balance
/// no longer covers reverts with `Underfunded`.
contract VestingManager is VestingBase {
    using SafeERC20 for IERC20;

    /// The milestone module (see VestingMilestones).
    address private immutable _module;

    /// @param token_ The ERC-20 token of every grant.
    /// @param admin Holds DEFAULT_ADMIN_ROLE (a Safe in production).
    /// @param operator Holds OPERATOR_ROLE (the engine's signer); may be the zero address.
    /// @param treasury_ Funds grants and receives revoked tokens.
    /// @param taxWallet_ Receives withheld tokens.
    constructor(IERC20 token_, address admin, address operator, address treasury_, address taxWallet_)
        VestingBase(token_)
    {
        if (admin == address(0) || treasury_ == address(0) || taxWallet_ == address(0)) revert ZeroAddress();
        _module = address(new VestingMilestones(token_));
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
    /// @dev The vested amount is `_vest`'s, the rule release and the views use, so what stays is
    /// exactly what release will pay. A milestone effect applied after `effectiveAt` counts for
    /// nothing (the grant had ended when it was met; the engine voids a milestone dated after a
    /// termination): its steps are not pulled forward and its performance amount goes back too.
    /// Effects applied before the checkpoint never come after `effectiveAt`, so nothing released
    /// is taken back. Performance funding still pending goes back at once, also for a future
    /// `effectiveAt` (Sablier's `cancel` settles at the call): a milestone applied after this call
    /// gets nothing, even one applied before `effectiveAt`. tokencomp sends a revocation only once
    /// its date has passed (`ops::revoke_due`), so the engine's rule (a milestone met before the
    /// termination date counts) never meets this case.
    function revoke(bytes32 id, uint64 effectiveAt) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        Hot storage h = _existing(id);
        Leave storage l = _leave[id];
        if (l.revokedAt != 0) revert GrantRevoked(id);
        uint64 checkpoint = h.checkpoint;
        if (effectiveAt == 0 || effectiveAt < checkpoint) {
            revert TimestampOutOfRange(id, effectiveAt, _max(checkpoint, 1), type(uint64).max);
        }
        uint8 flags = h.flags;
        (uint128 vested, uint128 bonus) = _vest(id, flags, effectiveAt);
        uint128 returned = _amounts[id].total - vested;
        vested += bonus;
        Perf storage p = _perf[id];
        // Performance amounts still waiting for their milestone go back too; vested ones stay.
        uint128 pending = p.pending;
        if (pending != 0) {
            p.pending = 0;
            returned += pending;
        }
        if (flags & MILESTONE != 0 && effectiveAt < p.appliedAt) {
            // Drop the applications after effectiveAt (their bonus goes back with the rest): the
            // latest state at or before it becomes the grant's state.
            Applied[] storage log = _applied[id];
            uint256 n = log.length;
            while (n != 0 && log[n - 1].at > effectiveAt) {
                log.pop();
                --n;
            }
            Applied memory kept;
            if (n != 0) {
                kept = log[n - 1];
                log.pop();
            }
            returned += p.bonus - kept.bonus;
            p.bonus = kept.bonus;
            p.boost = kept.boost;
            p.appliedAt = kept.at;
        }
        l.revokedAt = effectiveAt;
        h.flags = flags | ADJUSTED;
        emit Revoked(id, effectiveAt, vested, returned);
        if (returned != 0) _pay(id, treasury, returned);
    }

    /// @notice Registers an oracle with its first key, valid from this block.
    function registerOracle(string calldata name, address key) external onlyRole(DEFAULT_ADMIN_ROLE) {
        bytes32 oracle = keccak256(bytes(name));
        if (_oracles[oracle]) revert OracleExists(oracle);
        _oracles[oracle] = true;
        _addKey(oracle, key, name);
    }

    /// @notice Replaces an oracle's active key (if any) by `key` from this block on: attestations
    /// by the old key are refused as `RevokedOracle` from now.
    function rotateOracle(string calldata name, address key) external onlyRole(DEFAULT_ADMIN_ROLE) {
        bytes32 oracle = keccak256(bytes(name));
        if (!_oracles[oracle]) revert UnknownOracle(oracle);
        if (key == address(0) || _keys[key].oracle != bytes32(0)) revert KeyInUse(key);
        if (_activeKey[oracle] != address(0)) _endKey(oracle);
        _addKey(oracle, key, name);
    }

    /// @notice Revokes an oracle's active key from this block on; a rotation gives it a new one.
    function revokeOracle(string calldata name) external onlyRole(DEFAULT_ADMIN_ROLE) {
        bytes32 oracle = keccak256(bytes(name));
        if (!_oracles[oracle]) revert UnknownOracle(oracle);
        if (_activeKey[oracle] == address(0)) revert NoActiveKey(oracle);
        _endKey(oracle);
    }

    // --------------------------------------------------------------- operator

    /// @notice Defines milestones and their effects, and pulls from the treasury the most each
    /// performance effect may vest (UNLOCK: the target; SCALE: its share; GRADED: the cap's share).
    function defineMilestones(MilestoneInput[] calldata inputs) external onlyRole(OPERATOR_ROLE) nonReentrant {
        inputs; // forwarded as calldata
        _delegate();
    }

    /// @notice Creates a batch of grants and pulls their total from the treasury in the same call.
    /// @dev Reverts the whole batch on the first invalid grant; ids must be new.
    function createGrants(GrantInput[] calldata inputs) external onlyRole(OPERATOR_ROLE) nonReentrant {
        uint256 sum;
        for (uint256 i = 0; i < inputs.length; ++i) {
            sum += _create(inputs[i]);
        }
        address from = treasury;
        emit GrantsFunded(from, inputs.length, sum);
        if (sum != 0) _pull(from, sum);
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
    /// What is due is `_vest`'s (the rule revoke and the views use) at this block, from the cursor.
    function _release(bytes32 id, bool strict) private returns (bool) {
        Hot storage h = _hot[id];
        uint8 flags = h.flags;
        if (flags == 0) revert UnknownGrant(id);
        uint40 now_ = _now();
        uint64 t = now_;
        uint256 boost;
        uint128 bonus;
        if (flags & (ADJUSTED | MILESTONE) != 0) {
            if (flags & ADJUSTED != 0) {
                Leave storage l = _leave[id];
                if (l.pausedAt != 0 && l.revokedAt == 0) {
                    if (strict) revert GrantPaused(id);
                    return false;
                }
            }
            (t, boost, bonus) = _effective(id, flags, now_);
        }
        uint128 amount;
        uint128 withheld;
        if (flags & KIND_MASK == uint8(Kind.Linear)) {
            Amounts storage a = _amounts[id];
            uint128 vested = _linear(id, a.total, t);
            amount = vested - a.released;
            a.released = vested;
        } else {
            uint256 until;
            if (flags & WITHHOLDING != 0) until = _leave[id].withholdingUntil;
            uint256 next;
            (next, amount, withheld) = _walk(id, h.cursor, h.trancheCount, t, boost, until);
            // next <= trancheCount < 2^24, so the cast is exact.
            h.cursor = uint24(next);
        }
        if (flags & MILESTONE != 0) {
            Perf storage p = _perf[id];
            uint128 due = bonus - p.bonusReleased;
            if (due != 0) {
                p.bonusReleased = bonus;
                amount += due;
            }
        }
        if (amount == 0) {
            if (strict) revert NothingToRelease(id);
            return false;
        }
        h.checkpoint = now_;
        uint128 net;
        unchecked {
            net = amount - withheld;
        }
        address beneficiary = h.beneficiary;
        emit Released(id, net, withheld);
        if (net != 0) _pay(id, beneficiary, net);
        if (withheld != 0) _pay(id, taxWallet, withheld);
        return true;
    }

    /// @notice Applies milestone `milestone` from a set of signed attestations, all or nothing:
    /// each must pass the checks (in the order of the errors above), be about this milestone, and
    /// spend an unspent nonce; at least `quorum` distinct oracles must attest; and the milestone must
    /// not have been applied. Its effects then apply once, with the lower median of the oracles'
    /// values (each oracle counts once, with its first value). Anyone may submit.
    /// @dev With more than `quorum` valid attestations in circulation the first submitter picks
    /// the set, and so the median: decided (issue 15) to keep the engine's rule (`Book::apply`
    /// takes the first valid set too), since every value in a valid set is one a registered
    /// oracle signed; an operator who wants one answer registers a quorum of all its oracles.
    function applyMilestone(string calldata milestone, SignedAttestation[] calldata set) external nonReentrant {
        (milestone, set); // forwarded as calldata
        _delegate();
    }

    // ------------------------------------------------------------------ views

    /// @notice Vested amount of a grant at `timestamp`, with its pauses and revocation applied.
    /// Exact for any timestamp at or after the grant's checkpoint (in particular for every
    /// timestamp of a grant never paused); earlier timestamps see the current pause shift.
    /// Milestone effects count from the block they were applied in.
    function vestedAt(bytes32 id, uint64 timestamp) external view returns (uint128) {
        (uint128 amount, uint128 bonus) = _vest(id, _existing(id).flags, timestamp);
        return amount + bonus;
    }

    /// @notice What `release` would transfer now (net plus withheld).
    function releasable(bytes32 id) external view returns (uint128) {
        Hot storage h = _existing(id);
        Leave storage l = _leave[id];
        if (l.pausedAt != 0 && l.revokedAt == 0) return 0;
        (uint128 amount, uint128 bonus) = _vest(id, h.flags, uint64(block.timestamp));
        return amount + bonus - _released(id, h);
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

    /// @notice A grant's milestone state: performance funding pending, performance amounts vested
    /// and released, steps pulled forward, and the time of the last effect applied.
    function perfOf(bytes32 id) external view returns (Perf memory) {
        _existing(id);
        return _perf[id];
    }

    /// @notice A milestone as defined, by its id's keccak256, and its effects.
    function milestoneOf(bytes32 milestone) external view returns (MilestoneDef memory, Effect[] memory) {
        return (_milestones[milestone], _effects[milestone]);
    }

    /// @notice The key's oracle (keccak256 of its name) and validity window.
    function oracleKeyOf(address key) external view returns (OracleKey memory) {
        return _keys[key];
    }

    /// @notice Whether an oracle of this name is registered, and its active key (zero if none).
    function oracleOf(string calldata name) external view returns (bool registered, address activeKey) {
        bytes32 oracle = keccak256(bytes(name));
        return (_oracles[oracle], _activeKey[oracle]);
    }

    /// @notice Whether `oracle` spent `nonce`.
    function nonceSpent(address oracle, uint64 nonce) external view returns (bool) {
        return _spent[oracle][nonce];
    }

    /// @notice The EIP-712 digest of an attestation under this contract's domain.
    function attestationDigest(Attestation calldata a) external view returns (bytes32) {
        return _digest(a);
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
        if (input.kind == Kind.Tranched || input.kind == Kind.Installments) {
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

    function _addKey(bytes32 oracle, address key, string calldata name) private {
        if (key == address(0) || _keys[key].oracle != bytes32(0)) revert KeyInUse(key);
        _keys[key] = OracleKey({oracle: oracle, from: uint64(block.timestamp), until: 0});
        _activeKey[oracle] = key;
        emit OracleKeyAdded(oracle, key, name);
    }

    function _endKey(bytes32 oracle) private {
        address key = _activeKey[oracle];
        _keys[key].until = uint64(block.timestamp);
        _activeKey[oracle] = address(0);
        emit OracleKeyEnded(oracle, key);
    }








    function _postWithholding(bytes32 id, uint256 index, uint128 tokens) private {
        Hot storage h = _existing(id);
        if (h.flags & KIND_MASK == uint8(Kind.Linear)) revert NotTranched(id);
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





    /// Effective schedule time at `t`: frozen at the revocation and while paused, minus the pauses.
    function _shift(uint64 t, uint64 pausedAt, uint64 shift, uint64 revokedAt) private pure returns (uint64) {
        if (revokedAt != 0 && t > revokedAt) t = revokedAt;
        if (pausedAt != 0 && t > pausedAt) t = pausedAt;
        return t > shift ? t - shift : 0;
    }

    /// What a grant has vested at block time `timestamp`, by the one rule that revoke, release and
    /// the views share, so they never disagree: the schedule at its effective time (frozen at the
    /// revocation and while paused, less the pauses; `_effective`), with the steps pulled forward
    /// and the performance amounts of the milestones applied at or before min(timestamp,
    /// revocation), the steps walked by `_walk`. Release walks the same way from its cursor
    /// (every step before it is vested). Returns the schedule's vested amount and the performance
    /// amount.
    function _vest(bytes32 id, uint8 flags, uint64 timestamp) private view returns (uint128 amount, uint128 bonus) {
        uint64 t = timestamp;
        uint256 boost;
        if (flags & (ADJUSTED | MILESTONE) != 0) (t, boost, bonus) = _effective(id, flags, timestamp);
        if (flags & KIND_MASK == uint8(Kind.Linear)) return (_linear(id, _amounts[id].total, t), bonus);
        (, amount,) = _walk(id, 0, _hot[id].trancheCount, t, boost, 0);
    }

    /// The schedule's effective time at block time `timestamp` (frozen at the revocation and while
    /// paused, less the pauses), and the steps pulled forward and performance amount of the
    /// milestone effects applied at or before min(timestamp, revocation).
    function _effective(bytes32 id, uint8 flags, uint64 timestamp)
        private
        view
        returns (uint64 t, uint256 boost, uint128 bonus)
    {
        t = timestamp;
        uint64 cut = timestamp;
        if (flags & ADJUSTED != 0) {
            Leave storage l = _leave[id];
            uint64 revokedAt = l.revokedAt;
            if (revokedAt != 0 && cut > revokedAt) cut = revokedAt;
            t = _shift(t, l.pausedAt, l.pausedSeconds, revokedAt);
        }
        if (flags & MILESTONE != 0) (boost, bonus) = _perfAt(id, cut);
    }

    /// Walks a tranched grant's steps from `i` while they are due at effective time `t`: step i
    /// once step i - boost's instant has passed (the first `boost` at once). Returns the first
    /// step not due, the amount of those walked, and the withholding of those below `until`.
    function _walk(bytes32 id, uint256 i, uint256 count, uint64 t, uint256 boost, uint256 until)
        private
        view
        returns (uint256, uint128 amount, uint128 withheld)
    {
        mapping(uint256 => Step) storage steps = _steps[id];
        // The amounts sum to the total (< 2^128), and each withholding is at most its amount, so
        // the sums below cannot overflow.
        if (boost == 0) {
            // Step i is due at its own instant; the next one at its nextAt, read from the same slot.
            while (i < count) {
                Step storage s = steps[i];
                if (s.at > t) break;
                unchecked {
                    amount += s.amount;
                    if (i < until) withheld += _withholding[id][i];
                    ++i;
                }
                if (s.nextAt > t) break;
            }
            return (i, amount, withheld);
        }
        // Pulled forward: step i is due at step i - boost's instant (the first `boost` at once).
        while (i < count && (i < boost || steps[i - boost].at <= t)) {
            unchecked {
                amount += steps[i].amount;
                if (i < until) withheld += _withholding[id][i];
                ++i;
            }
        }
        return (i, amount, withheld);
    }

    /// The steps pulled forward and the performance amount vested by the milestone effects applied
    /// at or before block time `at`.
    function _perfAt(bytes32 id, uint64 at) private view returns (uint256, uint128) {
        Perf storage p = _perf[id];
        if (at >= p.appliedAt) return (p.boost, p.bonus);
        Applied[] storage log = _applied[id];
        for (uint256 k = log.length; k != 0; --k) {
            Applied storage a = log[k - 1];
            if (a.at <= at) return (a.boost, a.bonus);
        }
        return (0, 0);
    }

    /// Sum of the amounts of tranches [0, n).
    function _sumSteps(bytes32 id, uint256 n) private view returns (uint128 sum) {
        mapping(uint256 => Step) storage steps = _steps[id];
        for (uint256 i = 0; i < n; ++i) {
            sum += steps[i].amount;
        }
    }

    /// Released so far: from the schedule, and the performance bonus.
    function _released(bytes32 id, Hot storage h) private view returns (uint128) {
        uint128 bonus = _perf[id].bonusReleased;
        if (h.flags & KIND_MASK == uint8(Kind.Linear)) return _amounts[id].released + bonus;
        return _sumSteps(id, h.cursor) + bonus;
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

    /// Runs this call's calldata on the milestone module, on this contract's storage; its refusal
    /// is this call's.
    function _delegate() private {
        (bool ok, bytes memory ret) = _module.delegatecall(msg.data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}

/// @title VestingMilestones
/// @notice The milestone half of VestingManager (defineMilestones, applyMilestone), split off so
/// the manager's deployed code stays under EIP-170's 24,576 bytes. The manager deploys it in its
/// constructor and forwards those two calls to it by DELEGATECALL, after its own role and
/// reentrancy checks: it runs on the manager's storage and balance, and its events are the
/// manager's. Called directly it refuses (`NotDelegated`).
contract VestingMilestones is VestingBase {
    address private immutable _self;

    constructor(IERC20 token_) VestingBase(token_) {
        _self = address(this);
    }

    modifier onlyDelegated() {
        if (address(this) == _self) revert NotDelegated();
        _;
    }

    /// @notice Defines milestones and their effects, and pulls from the treasury the most each
    /// performance effect may vest (UNLOCK: the target; SCALE: its share; GRADED: the cap's share).
    function defineMilestones(MilestoneInput[] calldata inputs) external onlyDelegated {
        uint256 sum;
        for (uint256 i = 0; i < inputs.length; ++i) {
            sum += _defineMilestone(inputs[i]);
        }
        if (sum != 0) _pull(treasury, sum);
    }

    /// @notice Applies milestone `milestone` from a set of signed attestations, all or nothing:
    /// each must pass the checks (in the order of the errors above), be about this milestone, and
    /// spend an unspent nonce; at least `quorum` distinct oracles must attest; and the milestone must
    /// not have been applied. Its effects then apply once, with the lower median of the oracles'
    /// values (each oracle counts once, with its first value). Anyone may submit.
    /// @dev With more than `quorum` valid attestations in circulation the first submitter picks
    /// the set, and so the median: decided (issue 15) to keep the engine's rule (`Book::apply`
    /// takes the first valid set too), since every value in a valid set is one a registered
    /// oracle signed; an operator who wants one answer registers a quorum of all its oracles.
    function applyMilestone(string calldata milestone, SignedAttestation[] calldata set) external onlyDelegated {
        bytes32 key = keccak256(bytes(milestone));
        uint256 n = set.length;
        bytes32[] memory oracles = new bytes32[](n);
        int256[] memory values = new int256[](n);
        uint256 votes;
        for (uint256 i = 0; i < n; ++i) {
            Attestation calldata a = set[i].attestation;
            bytes32 oracle = _check(set[i], i);
            if (keccak256(bytes(a.milestone)) != key) revert UnknownMilestone(i);
            for (uint256 j = 0; j < i; ++j) {
                Attestation calldata b = set[j].attestation;
                if (b.oracle == a.oracle && b.nonce == a.nonce) revert ReplayedNonce(i, a.oracle, a.nonce);
            }
            bool seen;
            for (uint256 j = 0; j < votes; ++j) {
                if (oracles[j] == oracle) {
                    seen = true;
                    break;
                }
            }
            if (!seen) {
                oracles[votes] = oracle;
                values[votes] = a.value;
                ++votes;
            }
        }
        MilestoneDef storage m = _milestones[key];
        if (m.quorum == 0) revert UnknownMilestone(WHOLE_SET);
        if (votes < m.quorum) revert QuorumNotMet(votes, m.quorum);
        if (m.applied) revert AlreadyApplied();
        m.applied = true;
        for (uint256 i = 0; i < n; ++i) {
            Attestation calldata a = set[i].attestation;
            _spent[a.oracle][a.nonce] = true;
            emit NonceSpent(a.oracle, a.nonce);
        }
        // Lower median: sort the (few) values in place.
        for (uint256 i = 1; i < votes; ++i) {
            int256 v = values[i];
            uint256 j = i;
            while (j > 0 && values[j - 1] > v) {
                values[j] = values[j - 1];
                --j;
            }
            values[j] = v;
        }
        int256 value = values[(votes - 1) / 2];
        uint128 returned = _applyEffects(key, m.threshold, value);
        emit MilestoneApplied(key, value, votes, returned);
        if (returned != 0) _pay(key, treasury, returned);
    }

    /// Stores a milestone and its effects; returns the funding its performance effects need.
    function _defineMilestone(MilestoneInput calldata input) private returns (uint256 funding) {
        bytes32 key = keccak256(bytes(input.id));
        MilestoneDef storage m = _milestones[key];
        if (m.quorum != 0) revert MilestoneExists(key);
        if (input.quorum == 0 || input.effects.length == 0) revert InvalidMilestone(key);
        m.metric = keccak256(bytes(input.metric));
        m.subject = keccak256(bytes(input.subject));
        m.threshold = input.threshold;
        m.deadline = input.deadline;
        m.quorum = input.quorum;
        m.comparison = input.comparison;
        Effect[] storage effects = _effects[key];
        for (uint256 i = 0; i < input.effects.length; ++i) {
            EffectInput calldata e = input.effects[i];
            Hot storage h = _existing(e.grant);
            if (_leave[e.grant].revokedAt != 0) revert GrantRevoked(e.grant);
            uint128 funded;
            if (e.kind == EffectKind.PullForward) {
                if (e.periods == 0) revert InvalidEffect(key, i);
                if (h.flags & KIND_MASK != uint8(Kind.Installments)) revert NoInstallmentSteps(key, i, e.grant);
            } else if (e.kind == EffectKind.Unlock) {
                funded = e.target;
            } else if (e.kind == EffectKind.Scale || e.kind == EffectKind.Graded) {
                if (e.bps > MAX_BPS) revert InvalidEffect(key, i);
                // A graded share divides by the threshold.
                if (e.kind == EffectKind.Graded && input.threshold <= 0) revert InvalidEffect(key, i);
                funded = _bpsOf(e.target, e.bps);
            } else {
                revert InvalidEffect(key, i);
            }
            if (funded != 0) {
                _perf[e.grant].pending += funded;
                funding += funded;
            }
            effects.push(
                Effect({grant: e.grant, kind: e.kind, periods: e.periods, bps: e.bps, target: e.target, funded: funded})
            );
        }
        emit MilestoneDefined(key, input.id, input.effects.length, funding);
    }

    /// Checks one attestation in the order of the refusal errors, up to `BelowThreshold`, and
    /// returns its oracle.
    function _check(SignedAttestation calldata s, uint256 i) private view returns (bytes32) {
        if (s.chainId != block.chainid) revert WrongChain(i, s.chainId);
        if (s.verifyingContract != address(this)) revert WrongContract(i, s.verifyingContract);
        Attestation calldata a = s.attestation;
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(_digest(a), s.signature);
        if (err != ECDSA.RecoverError.NoError || signer != a.oracle) revert BadSignature(i);
        OracleKey storage k = _keys[signer];
        bytes32 oracle = k.oracle;
        if (oracle == bytes32(0) || block.timestamp < k.from) revert UnregisteredOracle(i, signer);
        uint64 until = k.until;
        if (until != 0 && block.timestamp >= until) revert RevokedOracle(i, signer);
        if (a.expiresAt <= block.timestamp) revert Expired(i, a.expiresAt);
        if (_spent[signer][a.nonce]) revert ReplayedNonce(i, signer, a.nonce);
        MilestoneDef storage m = _milestones[keccak256(bytes(a.milestone))];
        if (m.quorum == 0) revert UnknownMilestone(i);
        if (keccak256(bytes(a.subject)) != m.subject) revert WrongSubject(i);
        if (keccak256(bytes(a.metric)) != m.metric) revert WrongMetric(i);
        if (a.observedAt > m.deadline) revert PastDeadline(i, a.observedAt, m.deadline);
        if (!_passes(m.comparison, a.value, m.threshold)) revert BelowThreshold(i, a.value);
        return oracle;
    }

    function _passes(Comparison c, int256 value, int256 threshold) private pure returns (bool) {
        if (c == Comparison.Gte) return value >= threshold;
        if (c == Comparison.Gt) return value > threshold;
        if (c == Comparison.Lte) return value <= threshold;
        if (c == Comparison.Lt) return value < threshold;
        return value == threshold;
    }

    /// Applies a milestone's effects with its median `value`; returns the unused funding.
    function _applyEffects(bytes32 key, int256 threshold, int256 value) private returns (uint128 returned) {
        Effect[] storage effects = _effects[key];
        uint64 now_ = _now();
        for (uint256 i = 0; i < effects.length; ++i) {
            returned += _applyEffect(key, effects[i], threshold, value, now_);
        }
    }

    function _applyEffect(bytes32 key, Effect storage e, int256 threshold, int256 value, uint64 now_)
        private
        returns (uint128 returned)
    {
        bytes32 id = e.grant;
        // A revoked grant's pending funding already went back with the revocation.
        if (_leave[id].revokedAt != 0) return 0;
        Perf storage p = _perf[id];
        EffectKind kind = e.kind;
        uint128 amount;
        uint32 boost;
        uint128 bonus;
        if (kind == EffectKind.PullForward) {
            boost = e.periods;
            amount = boost;
            p.boost += boost;
        } else {
            uint256 bps = FULL_BPS;
            if (kind == EffectKind.Scale) {
                bps = e.bps;
            } else if (kind == EffectKind.Graded) {
                // floor(max(value, 0) * 10_000 / threshold) in 512 bits, capped (threshold > 0).
                uint256 v = value > 0 ? uint256(value) : 0;
                bps = Math.min(Math.mulDiv(v, FULL_BPS, uint256(threshold)), e.bps);
            }
            amount = _bpsOf(e.target, bps);
            bonus = amount;
            uint128 funded = e.funded;
            p.pending -= funded;
            p.bonus += amount;
            // funded is the most the effect can vest: the target, its share, or the cap's share.
            returned = funded - amount;
        }
        uint64 last = p.appliedAt;
        if (last != now_) {
            // Keep the state before this block's effects, for a revocation dated between the two.
            if (last != 0) _applied[id].push(Applied({at: last, boost: p.boost - boost, bonus: p.bonus - bonus}));
            p.appliedAt = now_;
        }
        _hot[id].flags |= MILESTONE;
        emit MilestoneEffectApplied(key, id, kind, amount);
    }

}
