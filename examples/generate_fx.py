#!/usr/bin/env python3
"""Daily GBP and EUR rates per USD for the sample company, over the same days as prices.csv.

    python3 examples/generate_fx.py > examples/fx.csv

Each rate is a seeded random walk in log space that is pulled back toward its centre (a mean-
reverting walk): GBP around 0.79 and EUR around 0.92 per USD, with the annualized volatility of a
major currency pair. Nothing is fetched: these are plausible, not historical, rates.

Deterministic: the standard library only, and only `random.Random(seed).random()`, whose
sequence Python guarantees for a given seed; normals come from Box-Muller below. Rates are
rounded to 6 decimals and written with trailing zeros dropped (at least 4 decimals).
"""

import math
import random
import sys
from datetime import date, timedelta

SEED = 20230901
FIRST_DAY = date(2023, 9, 1)  # prices.csv's first day
LAST_DAY = date(2026, 10, 31)  # company.demo_through

# currency: (centre per USD, annualized volatility)
CURRENCIES = {
    "GBP": (0.79, 0.08),
    "EUR": (0.92, 0.07),
}
# Fraction of the gap to the centre closed each day (a half-life of about 83 days).
PULL = 1.0 / 120.0


def normals(rng):
    """Standard normal deviates by Box-Muller, from rng.random() alone."""
    while True:
        u1 = 1.0 - rng.random()  # (0, 1]: log is finite
        u2 = rng.random()
        r = math.sqrt(-2.0 * math.log(u1))
        yield r * math.cos(2.0 * math.pi * u2)
        yield r * math.sin(2.0 * math.pi * u2)


def fmt(rate):
    s = f"{rate:.6f}"
    while s.endswith("0") and len(s.split(".")[1]) > 4:
        s = s[:-1]
    return s


def series(seed=SEED):
    """(day, currency, rate text) for every day and currency, day by day in CURRENCIES order."""
    rng = random.Random(seed)
    z = normals(rng)
    logs = {c: math.log(centre) for c, (centre, _) in CURRENCIES.items()}
    days = (LAST_DAY - FIRST_DAY).days + 1
    for i in range(days):
        day = FIRST_DAY + timedelta(days=i)
        for c, (centre, vol) in CURRENCIES.items():
            if i > 0:
                sigma = vol / math.sqrt(365.0)
                logs[c] += PULL * (math.log(centre) - logs[c]) + sigma * next(z)
            yield day, c, fmt(math.exp(logs[c]))


def main():
    out = ["date,currency,per_usd"]
    for day, currency, rate in series():
        assert float(rate) > 0, (day, currency)
        out.append(f"{day.isoformat()},{currency},{rate}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
