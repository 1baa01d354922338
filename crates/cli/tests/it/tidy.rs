//! Keeps the project's conventions true under `cargo test` (the `tidy` test of rust-analyzer).

use std::fs;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Source files of the libraries and the binary (not tests, benches or examples).
fn sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for krate in fs::read_dir(workspace().join("crates")).expect("crates/").flatten() {
        rust_files(&krate.path().join("src"), &mut files);
    }
    // `*_tests.rs` files are whole test modules kept beside the code they test.
    files.retain(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("_tests.rs")));
    assert!(files.len() >= 5, "found the sources");
    files.into_iter().map(|p| (p.clone(), fs::read_to_string(&p).expect("readable"))).collect()
}

/// The part of a file before its `#[cfg(test)]` module (test modules sit at the end).
fn non_test(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().take_while(|(_, l)| l.trim() != "#[cfg(test)]").map(|(i, l)| (i + 1, l))
}

fn problems(check: impl Fn(&Path, usize, &str, &[&str]) -> Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in non_test(&text) {
            if let Some(p) = check(&path, n, line, &lines) {
                out.push(format!("{}:{n}: {p}: {}", path.display(), line.trim()));
            }
        }
    }
    out
}

#[test]
fn no_stubs_or_ignored_tests() {
    let mut found =
        problems(|_, _, l, _| (l.contains("todo!(") || l.contains("unimplemented!(")).then(|| "stub".into()));
    let mut tests = Vec::new();
    rust_files(&workspace().join("crates"), &mut tests);
    for p in tests {
        let text = fs::read_to_string(&p).expect("readable");
        let marker = concat!("#[", "ignore");
        if text.contains(marker) {
            found.push(format!("{}: an ignored test", p.display()));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn no_floats_in_money_or_engine_amounts() {
    let found = problems(|p, _, l, _| {
        let path = p.to_string_lossy();
        let in_scope = ["crates/money/", "crates/core/", "crates/formats/", "crates/compliance/"]
            .iter()
            .any(|dir| path.contains(dir));
        let code = l.split("//").next().unwrap_or("");
        (in_scope && (code.contains("f64") || code.contains("f32"))).then(|| "float".into())
    });
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn no_as_casts_in_money() {
    let found = problems(|p, _, l, _| {
        let code = l.split("//").next().unwrap_or("");
        (p.to_string_lossy().contains("crates/money/") && [" as u", " as i"].iter().any(|c| code.contains(c)))
            .then(|| "`as` cast".into())
    });
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn unwraps_outside_tests_carry_an_invariant() {
    let found = problems(|_, n, l, lines| {
        let code = l.split("//").next().unwrap_or("");
        if !(code.contains(".unwrap()") || code.contains(".expect(")) {
            return None;
        }
        // The justification sits on one of the three lines above.
        let above = &lines[n.saturating_sub(4)..n - 1];
        (!above.iter().any(|a| a.contains("INVARIANT:"))).then(|| "unwrap without an INVARIANT comment".into())
    });
    assert!(found.is_empty(), "{}", found.join("\n"));
}
