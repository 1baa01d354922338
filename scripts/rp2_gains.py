#!/usr/bin/env python3
"""Per-disposal capital gains from rp2 (PyPI `rp2`, `rp2_us`), for differential tests.

Reads one person's single-wallet history as JSON (a file argument, or standard input):

    {
      "asset": "GRID",
      "acquisitions": [{"id": "v1", "date": "2021-03-01", "amount": "1000", "fmv": "2.5", "basis": "2500.00"}],
      "sales": [{"id": "s1", "date": "2022-05-03", "amount": "300", "price": "3.1", "fee": "3.10"}]
    }

Amounts are whole-token decimal strings, fmv and price are fiat per whole token, basis and fee
are fiat totals. Acquisitions are vests: rp2 IN rows of type WAGES at their fair market value,
with `fiat_in_no_fee` set to the basis we recorded. Sales are rp2 OUT rows of type SELL.

Except for HIFO and LOFO: rp2 1.7.2 pairs every earn-typed IN row (WAGES among them) with a lot
as it walks the taxable events, and its heap-based methods then lose lots: a HIFO sale skips the
dearest lot for good (rp2 issue #156, open, a regression of #73; seen here with three vests and
one sale, where HIFO never touched the highest-FMV vest). For those methods the vests are written
as BUY rows with the same price, amount and basis and no fee, which leaves every capital-gain
figure as it would be and keeps the wages income out of the lot matching.

Fees: rp2 ignores a *fiat* fee on a sale when it computes gains (its fiat_taxable_amount is
fiat_out_no_fee), but a *crypto* fee is consumed from the lots together with the sold units
while the proceeds stay crypto_out_no_fee x spot_price. So a sale of `amount` units with a
fiat fee `fee` is written as crypto_fee = fee / price and crypto_out_no_fee = amount - that:
rp2 then consumes exactly `amount` units and realizes amount x price - fee, which is what
IRS Pub. 544 (selling expenses reduce the amount realized) and tokencomp's `lots` module do.
The fee must therefore be a whole number of 10^-11 tokens at the sale's price (rp2 reads
numbers from the spreadsheet as floats printed with 11 decimals); anything else is refused.

Vests are stamped 00:00:SS UTC and sales 12:00:SS UTC (SS = the row's index) so that a vest
and a sale on the same day are ordered vest first and ties keep input order, as in tokencomp.

Runs `rp2_us` once per method (default: fifo, then hifo) in a temporary directory, reads the
"Gain / Loss Detail" table of each `<method>_rp2_full_report.ods`, and prints JSON:

    {"rp2_version": "...", "fifo": [{"sale": "s1", "lot": "v1", "sold": "2022-05-03",
      "acquired": "2021-03-01", "amount": "300", "proceeds": "...", "basis": "...",
      "gain": "...", "term": "long"}, ...], "hifo": [...]}

rp2 keeps fractions unrounded and writes them to the report as floats; the numbers are printed
as the shortest decimal string of that float, never rounded here. Uses only what rp2 installs
(pyexcel-ezodf for the .ods files).
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal, InvalidOperation
from importlib.metadata import version
from pathlib import Path

import ezodf

RP2_DIGITS = 11  # rp2's ods_parser formats every float cell with "{:.11f}"
EXCHANGE = "Wallet"
HOLDER = "Holder"

IN_COLUMNS = ["timestamp", "asset", "exchange", "holder", "transaction_type", "spot_price", "crypto_in", "fiat_in_no_fee", "unique_id"]
OUT_COLUMNS = ["timestamp", "asset", "exchange", "holder", "transaction_type", "spot_price", "crypto_out_no_fee", "crypto_fee", "unique_id"]
INTRA_COLUMNS = [
    "timestamp",
    "asset",
    "from_exchange",
    "from_holder",
    "to_exchange",
    "to_holder",
    "spot_price",
    "crypto_sent",
    "crypto_received",
    "unique_id",
]

# Columns of rp2's "Gain / Loss Detail" table (rp2/plugin/report/rp2_full_report.py, 1.7.x).
COL_AMOUNT, COL_GAIN, COL_TERM, COL_SOLD, COL_PROCEEDS, COL_SALE_ID = 0, 3, 4, 5, 8, 10
COL_ACQUIRED, COL_BASIS, COL_LOT_ID = 12, 16, 18


class InputError(Exception):
    pass


def decimal_field(record, field, where):
    raw = record.get(field)
    if not isinstance(raw, str):
        raise InputError(f"{where}: field `{field}` must be a decimal string, got {raw!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise InputError(f"{where}: field `{field}` is not a decimal: {raw!r}") from exc
    if not value.is_finite() or value < 0:
        raise InputError(f"{where}: field `{field}` must be a non-negative number, got {raw!r}")
    return value


def as_cell_float(value, what):
    """The float rp2 will read back exactly, or an error: rp2 parses cells as floats."""
    as_float = float(value)
    if Decimal(f"{as_float:.{RP2_DIGITS}f}") != value:
        raise InputError(f"{what} = {value} cannot reach rp2 exactly (it reads floats with {RP2_DIGITS} decimals)")
    return as_float


def plain(value):
    """A decimal string without exponent."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


FEATURE_BASED = {"hifo", "lofo"}  # rp2's heap-based methods, see the module doc


def build_rows(history, in_type="WAGES"):
    asset = history.get("asset")
    if not isinstance(asset, str) or not asset.isalnum():
        raise InputError(f"`asset` must be letters and digits, got {asset!r}")
    in_rows, out_rows = [], []
    for index, lot in enumerate(history.get("acquisitions", [])):
        where = f"acquisition {index} ({lot.get('id')!r})"
        amount = decimal_field(lot, "amount", where)
        fmv = decimal_field(lot, "fmv", where)
        basis = decimal_field(lot, "basis", where)
        if amount == 0 or fmv == 0:
            raise InputError(f"{where}: amount and fmv must be positive")
        in_rows.append(
            [
                f"{lot['date']}T00:00:{index % 60:02d}+00:00",
                asset,
                EXCHANGE,
                HOLDER,
                in_type,
                as_cell_float(fmv, f"{where} fmv"),
                as_cell_float(amount, f"{where} amount"),
                as_cell_float(basis, f"{where} basis"),
                str(lot["id"]),
            ]
        )
    for index, sale in enumerate(history.get("sales", [])):
        where = f"sale {index} ({sale.get('id')!r})"
        amount = decimal_field(sale, "amount", where)
        price = decimal_field(sale, "price", where)
        fee = decimal_field(sale, "fee", where)
        if amount == 0 or price == 0:
            raise InputError(f"{where}: amount and price must be positive")
        fee_units = fee / price
        if fee_units * price != fee:
            raise InputError(f"{where}: fee {fee} is not a whole number of token units at price {price}")
        if fee_units >= amount:
            raise InputError(f"{where}: fee {fee} is worth {fee_units} tokens, not less than the {amount} sold")
        out_rows.append(
            [
                f"{sale['date']}T12:00:{index % 60:02d}+00:00",
                asset,
                EXCHANGE,
                HOLDER,
                "SELL",
                as_cell_float(price, f"{where} price"),
                as_cell_float(amount - fee_units, f"{where} amount less fee"),
                as_cell_float(fee_units, f"{where} fee in tokens"),
                str(sale["id"]),
            ]
        )
    if not in_rows:
        raise InputError("no acquisitions: rp2 needs at least one")
    if len(in_rows) > 60 or len(out_rows) > 60:
        raise InputError("at most 60 acquisitions and 60 sales (rows are ordered by their seconds)")
    return asset, in_rows, out_rows


def write_config(path, asset):
    def section(name, columns):
        return [f"[{name}]"] + [f"{column} = {i}" for i, column in enumerate(columns)] + [""]

    lines = ["[general]", f"assets = {asset}", f"exchanges = {EXCHANGE}", f"holders = {HOLDER}", ""]
    lines += section("in_header", IN_COLUMNS) + section("out_header", OUT_COLUMNS) + section("intra_header", INTRA_COLUMNS)
    path.write_text("\n".join(lines), encoding="utf-8")


def write_ods(path, asset, in_rows, out_rows):
    tables = [("IN", IN_COLUMNS, in_rows)]
    if out_rows:
        tables.append(("OUT", OUT_COLUMNS, out_rows))
    height = sum(len(rows) + 4 for _, _, rows in tables)
    doc = ezodf.newdoc(doctype="ods", filename=str(path))
    sheet = ezodf.Sheet(asset, size=(height, len(OUT_COLUMNS) + 1))
    doc.sheets += sheet
    r = 0
    for keyword, columns, rows in tables:
        sheet[r, 0].set_value(keyword)
        for c, name in enumerate(columns):
            sheet[r + 1, c].set_value(name)
        for i, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet[r + 2 + i, c].set_value(value)
        sheet[r + 2 + len(rows), 0].set_value("TABLE END")
        r += len(rows) + 4
    doc.save()


HYPERLINK = re.compile(r'HYPERLINK\("[^"]*";\s*(?P<value>.*)\)\s*$')


def cell_value(cell):
    """rp2 wraps many detail cells in =HYPERLINK("#sheet.aN:zN"; value): unwrap them."""
    formula = cell.formula
    if formula:
        match = HYPERLINK.search(formula)
        if not match:
            raise RuntimeError(f"unexpected formula in rp2's report: {formula}")
        value = match.group("value").strip()
        return value[1:-1] if value.startswith('"') and value.endswith('"') else value
    return cell.value


def number(value):
    # repr of the float rp2 wrote: the shortest string that reads back as the same float.
    return plain(Decimal(repr(float(value))))


def day(timestamp):
    return str(timestamp)[:10]


def read_report(path, asset):
    doc = ezodf.opendoc(str(path))
    sheet = doc.sheets[f"{asset} Tax"]
    rows = list(sheet.rows())
    start = next((i for i, row in enumerate(rows) if row[0].value == "Gain / Loss Detail"), None)
    if start is None:
        raise RuntimeError(f"{path}: no 'Gain / Loss Detail' table")
    disposals = []
    for row in rows[start + 3 :]:
        if row[COL_AMOUNT].value in (None, ""):
            break
        lot_id = cell_value(row[COL_LOT_ID])
        if lot_id in (None, ""):
            continue  # an earn-typed row (the vest itself as wages income): no acquired lot
        disposals.append(
            {
                "sale": str(cell_value(row[COL_SALE_ID])),
                "lot": str(lot_id),
                "sold": day(cell_value(row[COL_SOLD])),
                "acquired": day(cell_value(row[COL_ACQUIRED])),
                "amount": number(row[COL_AMOUNT].value),
                "proceeds": number(cell_value(row[COL_PROCEEDS])),
                "basis": number(cell_value(row[COL_BASIS])),
                "gain": number(row[COL_GAIN].value),
                "term": str(row[COL_TERM].value).lower(),
            }
        )
    return disposals


def rp2_command():
    beside = Path(sys.executable).parent / "rp2_us"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("rp2_us")
    if found:
        return [found]
    raise RuntimeError("rp2_us not found next to this Python nor on PATH: install rp2 (./scripts/test sets up the venv)")


def run(history, methods):
    asset, _, _ = build_rows(history)  # validates once, before rp2 runs
    result = {"rp2_version": version("rp2")}
    with tempfile.TemporaryDirectory(prefix="rp2_gains_") as tmp:
        work = Path(tmp)
        config, out = work / "history.ini", work / "out"
        write_config(config, asset)
        for method in methods:
            in_type = "BUY" if method in FEATURE_BASED else "WAGES"
            ods = work / f"history_{in_type.lower()}.ods"
            if not ods.exists():
                _, in_rows, out_rows = build_rows(history, in_type)
                write_ods(ods, asset, in_rows, out_rows)
            command = rp2_command() + ["-m", method, "-o", str(out), "-p", "run_", str(config), str(ods)]
            done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"rp2_us -m {method} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
            result[method] = read_report(out / f"run_{method}_rp2_full_report.ods", asset)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("input", nargs="?", help="JSON history (default: standard input)")
    parser.add_argument("--methods", default="fifo,hifo", help="comma-separated rp2 methods (default: fifo,hifo)")
    args = parser.parse_args()
    text = Path(args.input).read_text(encoding="utf-8") if args.input else sys.stdin.read()
    try:
        history = json.loads(text)
        result = run(history, [m.strip() for m in args.methods.split(",") if m.strip()])
    except (InputError, json.JSONDecodeError, KeyError) as exc:
        print(f"rp2_gains: bad input: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"rp2_gains: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
