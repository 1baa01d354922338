#!/usr/bin/env python3
"""Reads a beancount file with beancount 3 and beanquery and prints what the books tests
compare with our own arithmetic, as CSV on standard output, numbers exact (never rounded to a
display precision, never in exponent form).

    books_check.py balances FILE   account,kind,commodity,number   (kind: cost | units)
        from bean-query: SELECT account, sum(cost(position)), sum(units(position)) GROUP BY account
    books_check.py lots FILE       account,label,acquired,units,cost_commodity,cost
        from bean-query: the same sums per (account, cost_label, cost_date), lots with units left
    books_check.py entries FILE    id,date,narration
        every transaction, in file order, with its `id` metadata

Exits 1, printing the loader's errors to standard error, when beancount reports any.
Run with the tools venv's python (scripts/tools.sh exports TOKENCOMP_TEST_VENV).
"""

import csv
import sys

import beanquery
from beancount import loader
from beancount.core import data


def number(d):
    # 'f' keeps every digit and never switches to exponent form ('1E+3').
    return format(d, "f")


def location(error):
    source = getattr(error, "source", None) or {}
    return f"{source.get('filename', '?')}:{source.get('lineno', '?')}"


def connect(path):
    conn = beanquery.connect("beancount:" + path)
    if conn.errors:
        for e in conn.errors:
            print(f"{location(e)}: {e.message}", file=sys.stderr)
        sys.exit(1)
    return conn


def balances(path, out):
    conn = connect(path)
    out.writerow(["account", "kind", "commodity", "number"])
    rows = conn.execute(
        "SELECT account, sum(cost(position)) AS cost, sum(units(position)) AS units GROUP BY account ORDER BY account"
    ).fetchall()
    for account, cost, units in rows:
        for kind, inventory in (("cost", cost), ("units", units)):
            for pos in ([] if inventory is None else inventory):
                out.writerow([account, kind, pos.units.currency, number(pos.units.number)])


def lots(path, out):
    conn = connect(path)
    out.writerow(["account", "label", "acquired", "units", "cost_commodity", "cost"])
    rows = conn.execute(
        "SELECT account, cost_label, cost_date, sum(units(position)) AS units, sum(cost(position)) AS cost "
        "GROUP BY account, cost_label, cost_date ORDER BY account, cost_label"
    ).fetchall()
    for account, label, acquired, units, cost in rows:
        if not label:
            continue
        unit_positions = [] if units is None else list(units)
        cost_positions = [] if cost is None else list(cost)
        if not unit_positions:
            continue
        if len(unit_positions) != 1 or len(cost_positions) > 1:
            print(f"{account} lot {label!r}: more than one commodity", file=sys.stderr)
            sys.exit(1)
        u = unit_positions[0].units.number
        if cost_positions:
            c = cost_positions[0].units
            out.writerow([account, label, acquired.isoformat(), number(u), c.currency, number(c.number)])
        else:
            out.writerow([account, label, acquired.isoformat(), number(u), "", "0"])


def entries(path, out):
    loaded, errors, _options = loader.load_file(path)
    if errors:
        for e in errors:
            print(f"{location(e)}: {e.message}", file=sys.stderr)
        sys.exit(1)
    out.writerow(["id", "date", "narration"])
    for entry in loaded:
        if isinstance(entry, data.Transaction):
            out.writerow([entry.meta.get("id", ""), entry.date.isoformat(), entry.narration])


def main(argv):
    modes = {"balances": balances, "lots": lots, "entries": entries}
    if len(argv) != 3 or argv[1] not in modes:
        print(__doc__, file=sys.stderr)
        return 2
    out = csv.writer(sys.stdout, lineterminator="\n")
    modes[argv[1]](argv[2], out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
