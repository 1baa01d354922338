#!/usr/bin/env python3
"""An independent check of tokencomp's wallet-proof challenges with PyPI's `siwe` (the
Sign-In with Ethereum reference implementation for Python, EIP-4361).

Reads one JSON object on stdin: {"message", "signature", "domain", "nonce", "at"} (`at`: the
instant to verify at, RFC 3339). Parses the message with siwe's ABNF parser, verifies the
signature (EIP-191, recovered with eth-account), the domain, the nonce and the times, and prints
the parsed fields as JSON. Exits 1, naming siwe's error, when the message or signature fails.
Run by crates/cli/tests/it/siwe.rs with the tools venv's python (scripts/tools.sh pins siwe).
"""

import json
import sys
from datetime import datetime

from siwe import SiweMessage


def main() -> int:
    req = json.load(sys.stdin)
    try:
        msg = SiweMessage.from_message(req["message"], abnf=True)
        at = datetime.fromisoformat(req["at"].replace("Z", "+00:00"))
        msg.verify(req["signature"], domain=req["domain"], nonce=req["nonce"], timestamp=at)
    except Exception as e:  # siwe raises its own error types; name whichever it was
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    # The message written back by siwe must be ours, byte for byte.
    if msg.prepare_message() != req["message"]:
        print("siwe writes the parsed message differently", file=sys.stderr)
        return 1
    out = {
        "domain": msg.domain,
        "address": msg.address,
        "statement": msg.statement,
        "uri": str(msg.uri),
        "version": str(msg.version.value if hasattr(msg.version, "value") else msg.version),
        "chain_id": msg.chain_id,
        "nonce": msg.nonce,
        "issued_at": str(msg.issued_at),
        "expiration_time": str(msg.expiration_time),
    }
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
