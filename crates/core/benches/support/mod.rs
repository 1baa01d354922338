//! What every benchmark of the workspace shares: how criterion was invoked (full run, test
//! mode, listing; its filter), a seeded generator for the data sets, where results go, and the
//! process's memory as Linux reports it. The other crates' benches include this file by path.
//!
//! Each bench uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;

/// `cargo test --benches` builds without optimizations (debug assertions are the tell): the
/// rates a bench prints then say nothing about the code.
pub const OPTIMIZED: bool = !cfg!(debug_assertions);

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `cargo bench`: full sizes, criterion measurements, results written.
    Full,
    /// `cargo bench -- --test` or `cargo test --benches`: small sizes, run once.
    Test,
    /// `-- --list`: criterion lists the benchmarks; nothing is run here.
    List,
}

impl Mode {
    /// The rule criterion applies to its own arguments: test mode with `--test`, or when cargo
    /// did not pass `--bench` (that is, under `cargo test`).
    pub fn from_args() -> Mode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let has = |flag: &str| args.iter().any(|a| a == flag);
        if has("--list") {
            Mode::List
        } else if has("--test") || !has("--bench") {
            Mode::Test
        } else {
            Mode::Full
        }
    }
}

/// Criterion's options that take a value: whatever follows one of them is not the filter.
const VALUE_OPTIONS: [&str; 20] = [
    "-c",
    "--color",
    "--colour",
    "-s",
    "--save-baseline",
    "-b",
    "--baseline",
    "--baseline-lenient",
    "--format",
    "--profile-time",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

/// The benchmark filter criterion was given (its one positional argument; the last one wins).
pub fn filter_from_args() -> Option<String> {
    let mut args = std::env::args().skip(1);
    let mut filter = None;
    while let Some(arg) = args.next() {
        if VALUE_OPTIONS.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            filter = Some(arg);
        }
    }
    filter
}

/// Whether criterion's `filter` runs any of `names`, so the timing and checks done beside
/// criterion run for the same parts. Criterion reads the filter as a regular expression; a plain
/// substring covers the names here, and a filter with regex syntax runs everything.
pub fn selects(filter: Option<&str>, names: impl IntoIterator<Item = String>) -> bool {
    let Some(f) = filter else { return true };
    f.contains(|c: char| "\\^$.|?*+()[]{}".contains(c)) || names.into_iter().any(|n| n.contains(f))
}

/// splitmix64: a tiny, well-mixed deterministic generator for the data sets.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn next_u128(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }

    /// Uniform enough in `lo..=hi` for a benchmark's data.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    pub fn one_in(&mut self, n: u64) -> bool {
        self.next_u64().is_multiple_of(n)
    }
}

/// `CARGO_TARGET_DIR`, else the directory holding cargo's `CACHEDIR.TAG` above this
/// executable, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// Writes a bench's results as `target/bench-results/NAME.json` (for the tables in docs/testing-and-benchmarks.md).
/// `doc` is a JSON document whose alternate form (`{:#}`) is pretty-printed, as a
/// `serde_json::Value`'s is (the domain crate's bench writes its own, without a JSON library).
pub fn write_results(name: &str, doc: &impl std::fmt::Display) -> std::io::Result<PathBuf> {
    let dir = target_dir().join("bench-results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.json"));
    let text = format!("{doc:#}");
    std::fs::write(&path, text + "\n")?;
    Ok(path)
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A memory line of `/proc/self/status` (`VmRSS:`, `VmHWM:`) in bytes (Linux).
pub fn status_bytes(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak resident set to the current one (Linux 4.0 and later), so the peak read
/// after a stage is that stage's.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
