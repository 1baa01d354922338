#!/usr/bin/env python3
"""Prints docs/testing-and-benchmarks.md's table of the simulate bench from a full run's results file.

    cargo bench -p tokencomp-risk --bench simulate   # through scripts/tools.sh, for the peers
    python3 scripts/bench_table.py [target/bench-results/simulate.json]

Refuses a results file written in criterion's --test mode (small sizes, not a measurement).
"""
import json
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "target/bench-results/simulate.json"
with open(path) as f:
    d = json.load(f)
if d.get("mode") != "full":
    sys.exit(f"{path}: mode is {d.get('mode')!r}, not a full run")

m = d["model"]
r = d["ratios"]
print(
    f"GBM, {d['paths']:,} paths × {d['steps']} steps, {d['threads']} threads, European put "
    f"(S0 {m['s0']:g}, K {m['strike']:g}, r {m['rate']:g}, σ {m['sigma']:g}, T {m['years']:g}; "
    f"Black–Scholes {d['black_scholes_put']:.4f}):\n"
)
print("| kernel | M path-steps/s | put (± s.e.) | ours ÷ it | target |")
print("|---|---|---|---|---|")
rows = [
    ("ours (rayon, all cores)", "ours", None, None),
    ("plain Rust GBM loop, 1 thread (reference kernel)", "reference", "ours_over_reference", "target_ours_over_reference"),
    (f"numpy {d['numpy'].get('version', '')}, vectorized", "numpy", "ours_over_numpy", "target_ours_over_numpy"),
    (f"QuantLib-Python {d['quantlib'].get('version', '')} MCEuropeanEngine", "quantlib", "ours_over_quantlib", "target_ours_over_quantlib"),
]
for name, key, ratio, target in rows:
    k = d[key]
    put = f"{k['put']:.4f} ± {k['std_error']:.4f}"
    if ratio is None:
        print(f"| {name} | {k['path_steps_per_sec'] / 1e6:.1f} | {put} | – | – |")
    else:
        print(f"| {name} | {k['path_steps_per_sec'] / 1e6:.1f} | {put} | {r[ratio]:.2f}× | ≥ {r[target]:g}× |")
