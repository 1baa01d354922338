//! Keeps the project's conventions true under `cargo test` (the `tidy` test of rust-analyzer).
//!
//! Each check is a function of plain data (a metadata document, a module graph, a file's text),
//! proven on small synthetic inputs in its own module, and a `#[test]` that runs it on the
//! repository and fails with one line per problem, `file:line: what is wrong`:
//!
//! - here: no stubs or ignored tests, no floats (and in some crates no `as` casts) in the crates
//!   that hold money, no unwrap outside tests without an `INVARIANT:` comment;
//! - [`layers`]: each crate has a layer and depends only downwards; dev-dependencies make no cycle;
//! - [`modules`]: the top-level modules of a crate do not import each other in a circle;
//! - [`docs`]: every `.rs` file opens with a `//!` doc; every cited markdown path resolves;
//! - [`size`]: no crate holds more than a quarter of the code; no file is over 1,200 lines
//!   without a reason in ARCHITECTURE.md.

mod docs;
mod layers;
mod modules;
mod size;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

/// The crates that hold money (directories under `crates/`): no floats in their sources, and,
/// where marked, no `as` casts either. One line per crate; a directory that does not exist yet
/// is skipped.
const MONEY_CRATES: &[(&str, Casts)] = &[
    ("money", Casts::Banned),       // the checked amount types themselves
    ("core", Casts::Allowed),       // the award domain; calendar and schedule arithmetic narrow with `as`
    ("compliance", Casts::Allowed), // rules, withholding, lots, books: code from core, which casts
    ("formats", Casts::Allowed),    // company file, CSV, OCF: code from core, which casts
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Casts {
    Banned,
    Allowed,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// `path` relative to the workspace root, with `/` separators (for messages and matching).
fn rel(path: &Path) -> String {
    let root = workspace();
    let p = path.strip_prefix(&root).unwrap_or(path);
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
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

/// The directory name of each crate under `crates/`.
fn crate_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = fs::read_dir(workspace().join("crates"))
        .expect("crates/")
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

/// The crate directory (`money` for `crates/money/src/lib.rs`) of a path under `crates/`.
fn crate_of(path: &Path) -> Option<String> {
    let r = rel(path);
    let mut parts = r.split('/');
    (parts.next() == Some("crates")).then(|| parts.next().map(str::to_owned)).flatten()
}

/// Source files of the libraries and the binary (not tests, benches or examples).
fn sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for krate in crate_dirs() {
        rust_files(&workspace().join("crates").join(krate).join("src"), &mut files);
    }
    // `*_tests.rs` files are whole test modules kept beside the code they test.
    files.retain(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("_tests.rs")));
    files.sort();
    assert!(files.len() >= 5, "found the sources");
    files.into_iter().map(|p| (p.clone(), fs::read_to_string(&p).expect("readable"))).collect()
}

/// The lines of a file outside its test code, numbered from 1: a `#[cfg(test)]` on a one-line
/// item (`mod web_tests;`) skips that item, any other `#[cfg(test)]` ends the non-test part
/// (test modules sit at the end).
fn non_test(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "#[cfg(test)]" {
            let mut j = i + 1;
            while lines.get(j).is_some_and(|l| l.trim_start().starts_with("#[")) {
                j += 1;
            }
            match lines.get(j) {
                Some(item) if item.trim_end().ends_with(';') => {
                    i = j + 1;
                    continue;
                }
                _ => break,
            }
        }
        out.push((i + 1, lines[i]));
        i += 1;
    }
    out
}

fn problems(check: impl Fn(&Path, usize, &str, &[&str]) -> Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in non_test(&text) {
            if let Some(p) = check(&path, n, line, &lines) {
                out.push(format!("{}:{n}: {p}: {}", rel(&path), line.trim()));
            }
        }
    }
    out
}

/// A graph's cycles: for each strongly connected component of more than one node, its nodes
/// and the shortest cycle through its first node, as `[a, b, …, a]`. Self-loops are not cycles
/// here.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<(BTreeSet<String>, Vec<String>)> {
    let mut out = Vec::new();
    for component in components(graph).into_iter().filter(|c| c.len() > 1) {
        let start = component.iter().next().expect("a component has a node").clone();
        // Breadth first from `start` inside the component, until an edge leads back to it.
        let mut parent: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = VecDeque::from([start.clone()]);
        let mut last = None;
        while let Some(node) = queue.pop_front() {
            let next = graph.get(&node).into_iter().flatten().filter(|n| component.contains(*n));
            for n in next {
                if *n == start {
                    last = Some(node.clone());
                    break;
                }
                if !parent.contains_key(n) {
                    parent.insert(n.clone(), node.clone());
                    queue.push_back(n.clone());
                }
            }
            if last.is_some() {
                break;
            }
        }
        let mut path = vec![start.clone()];
        let mut node = last.expect("a strongly connected component of two or more nodes has a cycle");
        while node != start {
            path.push(node.clone());
            node = parent[&node].clone();
        }
        path.push(start);
        path.reverse();
        out.push((component, path));
    }
    out
}

/// Strongly connected components (Tarjan), each as a sorted set.
fn components(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let lw = s.low[w.as_str()];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w.as_str()) {
                let iw = s.index[w.as_str()];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.to_owned());
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
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
            found.push(format!("{}: an ignored test", rel(&p)));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn money_crates_are_listed_once_and_exist_or_are_coming() {
    let names: BTreeSet<&str> = MONEY_CRATES.iter().map(|(c, _)| *c).collect();
    assert_eq!(names.len(), MONEY_CRATES.len(), "a crate is listed twice in MONEY_CRATES");
    // The list is only useful if it names the crates that exist: money and core at least.
    let dirs = crate_dirs();
    assert!(["money", "core"].iter().all(|c| dirs.iter().any(|d| d == c)), "{dirs:?}");
}

fn money_rule(path: &Path) -> Option<Casts> {
    let krate = crate_of(path)?;
    MONEY_CRATES.iter().find(|(c, _)| *c == krate).map(|(_, casts)| *casts)
}

#[test]
fn no_floats_in_money_or_engine_amounts() {
    let found = problems(|p, _, l, _| {
        let code = l.split("//").next().unwrap_or("");
        (money_rule(p).is_some() && (code.contains("f64") || code.contains("f32"))).then(|| "float".into())
    });
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn no_as_casts_in_money() {
    let found = problems(|p, _, l, _| {
        let code = l.split("//").next().unwrap_or("");
        (money_rule(p) == Some(Casts::Banned) && [" as u", " as i"].iter().any(|c| code.contains(c)))
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

fn graph(edges: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, b) in edges {
        g.entry((*a).to_owned()).or_default().insert((*b).to_owned());
        g.entry((*b).to_owned()).or_default();
    }
    g
}

#[test]
fn cycles_are_found_and_only_cycles() {
    assert!(cycles(&graph(&[("a", "b"), ("b", "c"), ("a", "c"), ("c", "c")])).is_empty());
    let paths = |g| cycles(&g).into_iter().map(|(_, path)| path).collect::<Vec<_>>();
    assert_eq!(paths(graph(&[("a", "b"), ("b", "a")])), vec![vec!["a", "b", "a"]]);
    // Two separate circles, one through a longer and a shorter way back.
    let g = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("b", "a"), ("x", "y"), ("y", "z"), ("z", "x"), ("c", "x")]);
    assert_eq!(paths(g.clone()), vec![vec!["a", "b", "a"], vec!["x", "y", "z", "x"]]);
    let members: Vec<Vec<String>> = cycles(&g).into_iter().map(|(c, _)| c.into_iter().collect()).collect();
    assert_eq!(members, vec![vec!["a", "b", "c"], vec!["x", "y", "z"]]);
}

#[test]
fn non_test_skips_test_items_and_the_test_module() {
    let text =
        "mod a;\n#[cfg(test)]\nmod a_tests;\nfn f() {}\n#[cfg(test)]\n#[allow(x)]\nmod tests {\n    fn g() {}\n}\n";
    let kept: Vec<usize> = non_test(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(kept, vec![1, 4]);
}

/// No crate keeps another crate's path alive with `pub use tokencomp_…`: callers import from the
/// crate that owns the item. The one exception is chain's re-export of the contract's ABI types
/// (generated by `sol!` in evm), which are part of chain's own operations' signatures.
#[test]
fn no_crate_re_exports_another_crates_items() {
    let found = problems(|p, _, l, _| {
        let code = l.split("//").next().unwrap_or("").trim_start();
        let abi = rel(p).starts_with("crates/chain/") && code.starts_with("pub use tokencomp_evm::VestingManager::");
        (code.starts_with("pub use tokencomp_") && !abi).then(|| "re-export of another crate's item".into())
    });
    assert!(found.is_empty(), "{}", found.join("\n"));
}
