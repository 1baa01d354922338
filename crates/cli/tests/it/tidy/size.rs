//! Sizes, in non-blank lines of the `.rs` files under `crates/*/src` (tests kept beside the
//! code included): no crate holds more than a quarter of them, and no file is over 1,200
//! unless ARCHITECTURE.md says why.
//!
//! The rule for a reason: a heading of ARCHITECTURE.md whose text starts with "Large files"
//! (any level, any case) opens a section that runs to the next heading of the same or a higher
//! level. A line of that section excuses each path `crates/…/*.rs` it names (repository-relative,
//! exactly) when the rest of the line, the path taken out, still has a word: the reason, as in
//! ``- `crates/store/src/ledger.rs`: one transaction per event kind, kept together``.
//! An excuse naming a file that does not exist fails too.

use std::collections::BTreeMap;
use std::fs;

use super::{crate_dirs, rel, rust_files, workspace};

/// The most non-blank lines a file may have without a reason.
const MAX_LINES: usize = 1200;

fn non_blank(text: &str) -> usize {
    text.lines().filter(|l| !l.trim().is_empty()).count()
}

/// `crate → non-blank lines`, when one crate holds more than a quarter: the table of all.
fn share_problem(lines: &BTreeMap<String, usize>) -> Option<String> {
    let total: usize = lines.values().sum();
    if total == 0 || lines.values().all(|n| n * 4 <= total) {
        return None;
    }
    let mut table = format!("a crate holds more than a quarter of the {total} non-blank lines under crates/*/src:\n");
    let mut rows: Vec<(&String, &usize)> = lines.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (krate, n) in rows {
        let permille = n * 1000 / total;
        let flag = if n * 4 > total { "  <- over 25%" } else { "" };
        table.push_str(&format!("  {krate:<12} {n:>7} {:>3}.{}%{flag}\n", permille / 10, permille % 10));
    }
    Some(table)
}

/// The paths ARCHITECTURE.md gives a reason for (see the module doc), with their lines.
fn excused(architecture: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut section: Option<usize> = None;
    for (n, line) in architecture.lines().enumerate() {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes > 0 && line[hashes..].starts_with(' ') {
            let title = line[hashes..].trim().to_lowercase();
            section = match section {
                Some(level) if hashes > level => Some(level),
                _ if title.starts_with("large files") => Some(hashes),
                _ => None,
            };
            continue;
        }
        if section.is_none() {
            continue;
        }
        for (i, _) in line.match_indices("crates/") {
            if line[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || "_./-".contains(c)) {
                continue;
            }
            let len = line[i..].find(|c: char| !(c.is_alphanumeric() || "_./-".contains(c))).unwrap_or(line.len() - i);
            let path = &line[i..i + len];
            let rest = format!("{}{}", &line[..i], &line[i + len..]);
            if path.ends_with(".rs") && rest.chars().filter(|c| c.is_alphabetic()).count() >= 2 {
                out.insert(path.to_owned(), n + 1);
            }
        }
    }
    out
}

/// The files over [`MAX_LINES`] without a reason, and the reasons for files that do not exist.
fn big_file_problems(files: &BTreeMap<String, usize>, architecture: &str) -> Vec<String> {
    let excused = excused(architecture);
    let mut out: Vec<String> = files
        .iter()
        .filter(|(path, n)| **n > MAX_LINES && !excused.contains_key(*path))
        .map(|(path, n)| {
            format!("{path}: {n} non-blank lines (over {MAX_LINES}) and no reason under a \"Large files\" heading in ARCHITECTURE.md")
        })
        .collect();
    for (path, line) in &excused {
        if !files.contains_key(path) {
            out.push(format!(
                "ARCHITECTURE.md:{line}: gives a reason for {path}, which is not a file under crates/*/src"
            ));
        }
    }
    out
}

/// Non-blank lines of every `.rs` file under `crates/*/src`, by repository-relative path.
fn source_lines() -> BTreeMap<String, usize> {
    let mut files = Vec::new();
    for krate in crate_dirs() {
        rust_files(&workspace().join("crates").join(krate).join("src"), &mut files);
    }
    assert!(files.len() >= 5, "found the sources");
    files.iter().map(|p| (rel(p), non_blank(&fs::read_to_string(p).expect("readable")))).collect()
}

#[test]
fn no_crate_holds_more_than_a_quarter_of_the_code() {
    let mut by_crate: BTreeMap<String, usize> = BTreeMap::new();
    for (path, n) in source_lines() {
        let krate = path.split('/').nth(1).expect("crates/<crate>/src/…").to_owned();
        *by_crate.entry(krate).or_default() += n;
    }
    if let Some(table) = share_problem(&by_crate) {
        panic!("{table}");
    }
}

#[test]
fn no_file_is_over_1200_lines_without_a_reason() {
    let architecture = fs::read_to_string(workspace().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let found = big_file_problems(&source_lines(), &architecture);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

fn counts(rows: &[(&str, usize)]) -> BTreeMap<String, usize> {
    rows.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

#[test]
fn share_check_on_fake_counts() {
    assert_eq!(share_problem(&counts(&[("a", 25), ("b", 25), ("c", 25), ("d", 25)])), None);
    let table = share_problem(&counts(&[("a", 26), ("b", 25), ("c", 25), ("d", 24)])).expect("a is over");
    assert_eq!(
        table,
        "a crate holds more than a quarter of the 100 non-blank lines under crates/*/src:\n  a                 26  26.0%  <- over 25%\n  b                 25  25.0%\n  c                 25  25.0%\n  d                 24  24.0%\n"
    );
}

#[test]
fn big_file_check_on_fake_files() {
    let files = counts(&[("crates/a/src/big.rs", 1201), ("crates/a/src/ok.rs", 1200), ("crates/b/src/huge.rs", 5000)]);
    let architecture = "# Architecture\n## Large files\n- `crates/b/src/huge.rs`: one parser, kept whole.\n### Detail\ncrates/a/src/gone.rs is generated.\n## Code map\n- crates/a/src/big.rs: the biggest module.\n- crates/a/src/ok.rs\n";
    assert_eq!(
        big_file_problems(&files, architecture),
        vec![
            "crates/a/src/big.rs: 1201 non-blank lines (over 1200) and no reason under a \"Large files\" heading in ARCHITECTURE.md",
            "ARCHITECTURE.md:5: gives a reason for crates/a/src/gone.rs, which is not a file under crates/*/src",
        ]
    );
    // A path alone is no reason.
    assert_eq!(excused("## Large files\n- `crates/b/src/huge.rs`\n").len(), 0);
    assert!(big_file_problems(&counts(&[("crates/a/src/x.rs", 3)]), "").is_empty());
}
