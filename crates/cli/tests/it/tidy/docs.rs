//! Docs: every `.rs` file under `crates/` opens with a `//!` doc, and every markdown path a
//! comment or a markdown file names resolves.
//!
//! A citation is a token ending in `.md` (optionally followed by `#anchor`) in a `.rs` comment
//! (`//`, `///`, `//!`, outside string literals) or anywhere in a `*.md` file (the repository
//! walked without `target/`, `node_modules/` and hidden directories). URLs (`scheme://…`) are
//! not citations. A citation resolves when the path names a file from the repository root or
//! from the citing file's directory; a markdown link `[text](path)` must resolve from its file's
//! directory, as GitHub reads it. With an `#anchor`, the target must have a heading whose
//! GitHub anchor is that one. A bare name of a shared document (the interfaces or tax-rules
//! reference) does not resolve: cite the page under `docs/`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use super::{rel, rust_files, workspace};

/// Whether a file's first non-empty line is a `//!` doc.
fn opens_with_doc(text: &str) -> bool {
    text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.trim_start().starts_with("//!"))
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates"), &mut files);
    files.sort();
    assert!(files.len() >= 5, "found the files");
    let found: Vec<String> = files
        .iter()
        .filter_map(|p| {
            let text = fs::read_to_string(p).expect("readable");
            let (n, first) = text.lines().enumerate().find(|(_, l)| !l.trim().is_empty()).unwrap_or((0, ""));
            (!opens_with_doc(&text))
                .then(|| format!("{}:{}: the file does not open with a `//!` doc: {}", rel(p), n + 1, first.trim()))
        })
        .collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The comment of a line of Rust: from the first `//` outside a string or char literal.
fn comment(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            // A char literal `'"'` does not open a string.
            b'\'' if !in_string && bytes.get(i + 2) == Some(&b'\'') => i += 2,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return Some(&line[i..]),
            _ => {}
        }
        i += 1;
    }
    None
}

#[derive(Debug, PartialEq, Eq)]
struct Citation {
    path: String,
    anchor: Option<String>,
    /// The target of a markdown link `[text](path)`.
    link: bool,
}

fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./-".contains(c)
}

/// The markdown paths a piece of text names.
fn citations(text: &str) -> Vec<Citation> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(".md") {
        let end = i + 3;
        if text[end..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `.mdx`, `.md5`
        }
        let start = text[..i].char_indices().rev().take_while(|(_, c)| path_char(*c)).last().map_or(i, |(s, _)| s);
        let path = &text[start..end];
        let stem = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".md");
        if stem.is_empty() || stem.chars().all(|c| c == '.') {
            continue;
        }
        // The whitespace-separated word around it: a URL is not a citation.
        let word_start = text[..start].rfind(char::is_whitespace).map_or(0, |w| w + 1);
        if text[word_start..end].contains("://") || path.starts_with("www.") {
            continue;
        }
        // The text of a link that is itself a file name: the link's target is the citation.
        if text[..start].ends_with('[') && text[end..].starts_with("](") {
            continue;
        }
        let anchor = text[end..]
            .strip_prefix('#')
            .map(|a| a.chars().take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_').collect::<String>());
        let link = text[..start].ends_with("](");
        out.push(Citation { path: path.to_owned(), anchor: anchor.filter(|a| !a.is_empty()), link });
    }
    out
}

/// The GitHub anchors of a markdown file's headings (`## Large files` → `large-files`; a
/// repeated heading gets `-1`, `-2`…).
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if fenced || !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let title = line[hashes..].trim().trim_end_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let count = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *count == 0 { slug.clone() } else { format!("{slug}-{count}") });
        *count += 1;
    }
    out
}

/// `a/./b/../c` → `a/c`; `None` when it climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The citations that do not resolve among `files` (repository-relative path → text; the
/// `.rs` files are read for their comments, the `.md` files whole).
fn unresolved(files: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let rust = path.ends_with(".rs");
        for (n, line) in text.lines().enumerate() {
            let Some(cited) = (if rust { comment(line) } else { Some(line) }) else { continue };
            for c in citations(cited) {
                let mut tries = vec![format!("{dir}/{}", c.path)];
                if !c.link || c.path.starts_with('/') {
                    tries.push(c.path.clone());
                }
                let target = tries.iter().filter_map(|t| normalize(t)).find(|t| files.contains_key(t));
                let cite = format!("{}{}", c.path, c.anchor.as_ref().map(|a| format!("#{a}")).unwrap_or_default());
                match (target, &c.anchor) {
                    (None, _) if c.link => out.push(format!(
                        "{path}:{}: `{cite}` does not resolve (a markdown link is read from {})",
                        n + 1,
                        if dir.is_empty() { "the repository root".to_owned() } else { format!("{dir}/") }
                    )),
                    (None, _) => out.push(format!(
                        "{path}:{}: `{cite}` does not resolve (no such file from the repository root{})",
                        n + 1,
                        if dir.is_empty() { String::new() } else { format!(" or from {dir}/") }
                    )),
                    (Some(t), Some(a)) if !anchors(&files[&t]).contains(a) => {
                        out.push(format!("{path}:{}: `{cite}`: {t} has no heading with the anchor #{a}", n + 1));
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The `.rs` and `.md` files of the repository, without `target/`, `node_modules/` and hidden
/// directories.
fn repo_files(dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !(name == "target" || name == "node_modules" || name.starts_with('.')) {
                repo_files(&p, out);
            }
        } else if name.ends_with(".rs") || name.ends_with(".md") {
            out.insert(rel(&p), fs::read_to_string(&p).unwrap_or_default());
        }
    }
}

#[test]
fn every_cited_markdown_path_resolves() {
    let mut files = BTreeMap::new();
    repo_files(&workspace(), &mut files);
    assert!(files.contains_key("README.md") && files.contains_key("crates/cli/src/main.rs"), "found the files");
    let found = unresolved(&files);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn module_docs_on_fake_files() {
    assert!(opens_with_doc("\n//! A module.\nuse x;\n"));
    assert!(!opens_with_doc("use x;\n//! Too late.\n"));
    assert!(!opens_with_doc("/// An item doc.\nfn f() {}\n"));
    assert!(!opens_with_doc(""));
}

#[test]
fn citations_are_found_in_text() {
    let c = citations(
        "see docs/a.md#the-part, README.md and [x](../b/c.md), [c.md](../c.md); not http://h.org/x.md nor y.mdx",
    );
    let got: Vec<(&str, Option<&str>, bool)> =
        c.iter().map(|c| (c.path.as_str(), c.anchor.as_deref(), c.link)).collect();
    assert_eq!(
        got,
        vec![
            ("docs/a.md", Some("the-part"), false),
            ("README.md", None, false),
            ("../b/c.md", None, true),
            ("../c.md", None, true)
        ]
    );
    assert_eq!(comment("let s = \"// x.md\"; // y.md"), Some("// y.md"));
    assert_eq!(comment("let c = '\"'; // z.md"), Some("// z.md"));
    assert_eq!(comment("let s = \"a\\\"//b\";"), None);
}

#[test]
fn anchors_are_github_style() {
    let a = anchors("# Title\n## Large files (over 1,200 lines)\n```\n# not a heading\n```\n## Title\n#nospace\n");
    let want: BTreeSet<String> =
        ["title", "large-files-over-1200-lines", "title-1"].iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(a, want);
}

#[test]
fn citation_check_on_fake_files() {
    let files: BTreeMap<String, String> = [
        ("README.md", "[Ledger](docs/ledger.md#backups) and ARCHITECTURE.md\n"),
        ("ARCHITECTURE.md", "# Map\nSee [the ledger](docs/ledger.md).\n"),
        ("docs/ledger.md", "# Ledger\n## Backups\nBack to [the map](../ARCHITECTURE.md).\n"),
        (
            "crates/a/src/lib.rs",
            "//! Rules: docs/ledger.md#backups.\nconst S: &str = \"// INTERFACES.md in a string\";\n",
        ),
    ]
    .iter()
    .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
    .collect();
    assert_eq!(unresolved(&files), Vec::<String>::new());

    let mut broken = files.clone();
    broken.insert(
        "crates/a/src/x.rs".into(),
        "//! X.\n\n/// As INTERFACES.md says (docs/ledger.md#restore).\nfn g() {}\n".into(),
    );
    broken.insert("docs/web.md".into(), "# Web\n[Map](ARCHITECTURE.md)\n".into());
    assert_eq!(
        unresolved(&broken),
        vec![
            "crates/a/src/x.rs:3: `INTERFACES.md` does not resolve (no such file from the repository root or from crates/a/src/)",
            "crates/a/src/x.rs:3: `docs/ledger.md#restore`: docs/ledger.md has no heading with the anchor #restore",
            "docs/web.md:2: `ARCHITECTURE.md` does not resolve (a markdown link is read from docs/)",
        ]
    );
}
