#!/usr/bin/env python3
"""Daily GRID/USD closes for the sample company, from the first trading day to demo_through.

    python3 examples/generate_prices.py > examples/prices.csv

A seeded random walk in log price: annualized volatility of 90% (a young, thinly traded token)
and a drift that changes with the market regime (the 2024 run-up, the 2025 drawdown, the
recovery). The walk is bent, linearly in log space, to pass through the three closes that
company.toml records inline (2025-05-09 … 2025-05-11), so the two never disagree.

Deterministic: the standard library only, and only `random.Random(seed).random()`, whose
sequence Python guarantees for a given seed; normals come from Box-Muller below. Closes are
rounded to 4 decimals and written with trailing zeros dropped (at least 2 decimals).
"""

import math
import random
import sys
from datetime import date, timedelta

SEED = 20231190
FIRST_DAY = date(2023, 9, 1)  # GRID's first trading day
LAST_DAY = date(2026, 10, 31)  # company.demo_through
OPEN = 0.12  # listing price, USD
ANNUAL_VOL = 0.90

# (from this day, annualized drift of the log price)
REGIMES = [
    (date(2023, 9, 1), 1.55),  # listing and the AI-compute run-up
    (date(2025, 1, 20), -2.40),  # the 2025 drawdown
    (date(2025, 8, 25), 0.75),  # recovery
]

# Closes that company.toml also records; the series must agree with them exactly.
PINNED = {
    date(2025, 5, 9): "0.41",
    date(2025, 5, 10): "0.43",
    date(2025, 5, 11): "0.42",
}


def normals(rng):
    """Standard normal deviates by Box-Muller, from rng.random() alone."""
    while True:
        u1 = 1.0 - rng.random()  # (0, 1]: log is finite
        u2 = rng.random()
        r = math.sqrt(-2.0 * math.log(u1))
        yield r * math.cos(2.0 * math.pi * u2)
        yield r * math.sin(2.0 * math.pi * u2)


def drift(day):
    mu = REGIMES[0][1]
    for start, m in REGIMES:
        if day >= start:
            mu = m
    return mu


def walk(seed):
    """Log closes, one per day from FIRST_DAY to LAST_DAY, before pinning."""
    rng = random.Random(seed)
    z = normals(rng)
    sigma = ANNUAL_VOL / math.sqrt(365.0)
    days = (LAST_DAY - FIRST_DAY).days + 1
    logs = [math.log(OPEN)]
    for i in range(1, days):
        day = FIRST_DAY + timedelta(days=i)
        logs.append(logs[-1] + drift(day) / 365.0 + sigma * next(z))
    return logs


def pin(logs):
    """Bends the walk through PINNED: between two fixed points the gap closes linearly; after
    the last one the walk carries on from it. The first day stays at OPEN."""
    fixed = [0] + sorted((d - FIRST_DAY).days for d in PINNED)
    out = list(logs)
    for a, b in zip(fixed, fixed[1:]):
        gap = math.log(float(PINNED[FIRST_DAY + timedelta(days=b)])) - out[b]
        for i in range(a + 1, len(out)):
            out[i] += gap * min(1.0, (i - a) / (b - a))
    return out


def fmt(price):
    s = f"{price:.4f}"
    while s.endswith("0") and len(s.split(".")[1]) > 2:
        s = s[:-1]
    return s


def series(seed=SEED):
    logs = pin(walk(seed))
    for i, lp in enumerate(logs):
        day = FIRST_DAY + timedelta(days=i)
        yield day, PINNED.get(day) or fmt(math.exp(lp))


def main():
    out = ["date,close_usd"]
    for day, close in series():
        assert float(close) > 0, day
        out.append(f"{day.isoformat()},{close}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
