#!/usr/bin/env python3
"""The peers of crates/risk/benches/simulate.rs: the same GBM Monte Carlo (paths x steps, a
European put at the end) in numpy (vectorized across paths, one time step at a time, in place)
and in QuantLib-Python's MCEuropeanEngine. Prints one JSON object with each peer's best time
over the repeats (time.perf_counter, inside Python), its path-steps per second, its put price
and standard error, and the library versions.

Run by the bench with target/tools-venv/bin/python (scripts/tools.sh installs numpy and
QuantLib there at pinned versions). Missing packages are an error, never a skip.
"""

import argparse
import json
import math
import time

import numpy as np
import QuantLib as ql


def numpy_gbm(paths, steps, s0, k, r, sigma, t, seed):
    dt = t / steps
    drift = (r - 0.5 * sigma * sigma) * dt
    vol = sigma * math.sqrt(dt)
    rng = np.random.default_rng(seed)  # PCG64; standard_normal uses a Ziggurat
    x = np.zeros(paths)
    z = np.empty(paths)
    s = np.empty(paths)
    for _ in range(steps):
        rng.standard_normal(out=z)
        z *= vol
        z += drift
        x += z
        # The price at every step, as the Rust engine writes it.
        np.exp(x, out=s)
        s *= s0
    payoff = np.maximum(k - s, 0.0) * math.exp(-r * t)
    return float(payoff.mean()), float(payoff.std(ddof=1) / math.sqrt(paths))


def quantlib_gbm(paths, steps, s0, k, r, sigma, t, seed):
    today = ql.Date(2, 1, 2026)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    maturity = today + int(round(t * 365))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(s0)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), sigma, dc)),
    )
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Put, k), ql.EuropeanExercise(maturity))
    option.setPricingEngine(
        ql.MCEuropeanEngine(process, "pseudorandom", timeSteps=steps, requiredSamples=paths, seed=seed)
    )
    return float(option.NPV()), float(option.errorEstimate())


def best(fn, repeats, *args):
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times), result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--paths", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--s0", type=float, default=100.0)
    p.add_argument("--strike", type=float, default=100.0)
    p.add_argument("--rate", type=float, default=0.04)
    p.add_argument("--sigma", type=float, default=0.8)
    p.add_argument("--years", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    args = (a.paths, a.steps, a.s0, a.strike, a.rate, a.sigma, a.years, a.seed)
    work = a.paths * a.steps
    out = {"paths": a.paths, "steps": a.steps, "repeats": a.repeats}
    for name, fn in (("numpy", numpy_gbm), ("quantlib", quantlib_gbm)):
        secs, (price, se) = best(fn, a.repeats, *args)
        out[name] = {"seconds": secs, "path_steps_per_sec": work / secs, "put": price, "std_error": se}
    out["numpy"]["version"] = np.__version__
    out["quantlib"]["version"] = ql.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    main()
