//! The top-level modules of a crate do not import each other in a circle (non-test code).
//!
//! A crate's top-level modules are the `mod`s of its `lib.rs` (or `main.rs`) outside test
//! code. Module `a` uses module `b` when the non-test code of `a` (`src/a.rs`, `src/a/mod.rs`
//! and every file under `src/a/`, without `*_tests.rs` and `tests.rs`) names `crate::b` — in a
//! path, a `use`, or a group such as `use crate::{b, c::D}` — or names `b` through as many
//! `super::` as the file is deep (`super::b` in `src/a.rs`, `super::super::b` in `src/a/x.rs`).
//! Comments and code after a test `#[cfg(test)]` (see `non_test`) are not read; inline modules
//! inside a file are not counted in the depth.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use super::{crate_dirs, cycles, non_test, rel, rust_files, workspace};

/// A file of one top-level module: its path (for messages), how many `super::` reach the crate
/// root from it, and its text.
struct File {
    path: String,
    depth: usize,
    text: String,
}

/// The top-level modules a crate root declares outside test code.
fn top_modules(root: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (_, line) in non_test(root) {
        let mut rest = line;
        if let Some(r) = rest.strip_prefix("pub") {
            // `pub`, `pub(crate)`, `pub(super)`…
            rest = r.split_once(')').filter(|_| r.starts_with('(')).map_or(r, |(_, after)| after).trim_start();
        }
        if let Some(r) = rest.strip_prefix("mod ") {
            let name: String = r.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The non-test code of a file with its comments cut, as one text, and where each line starts
/// (byte offset, line number) to find a mention's line.
fn code(text: &str) -> (String, Vec<(usize, usize)>) {
    let mut code = String::new();
    let mut starts = Vec::new();
    for (n, line) in non_test(text) {
        starts.push((code.len(), n));
        code.push_str(line.split("//").next().unwrap_or(""));
        code.push('\n');
    }
    (code, starts)
}

/// The first names after a path prefix at `at`: `b` for `b::X`, `b` and `c` for `{b, c::D}`,
/// with the byte offset of each.
fn names_after(code: &str, at: usize) -> Vec<(String, usize)> {
    let rest = &code[at..];
    let trimmed = rest.trim_start();
    let skip = at + rest.len() - trimmed.len();
    if let Some(group) = trimmed.strip_prefix('{') {
        let mut out = Vec::new();
        let (mut depth, mut first) = (0usize, true);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    first = true;
                    continue;
                }
                _ => {}
            }
            if first && is_ident(c) {
                let name: String = group[i..].chars().take_while(|c| is_ident(*c)).collect();
                out.push((name, skip + 1 + i));
                first = false;
            } else if first && !c.is_whitespace() {
                first = false;
            }
        }
        out
    } else {
        let name: String = trimmed.chars().take_while(|c| is_ident(*c)).collect();
        if name.is_empty() { Vec::new() } else { vec![(name, skip)] }
    }
}

/// The top-level modules a file of module `module` names, with the line of the first mention.
fn mentions(file: &File, module: &str, modules: &BTreeSet<String>) -> BTreeMap<String, usize> {
    let (code, starts) = code(&file.text);
    let line_of = |offset: usize| starts[starts.partition_point(|(s, _)| *s <= offset) - 1].1;
    let mut found: Vec<(String, usize)> = Vec::new();
    let prefixed = |prefix: &str| {
        let mut out = Vec::new();
        for (i, _) in code.match_indices(prefix) {
            let before = code[..i].chars().next_back();
            if before.is_some_and(|c| is_ident(c) || c == ':' || c == '$') {
                continue;
            }
            out.push(i + prefix.len());
        }
        out
    };
    for at in prefixed("crate::") {
        found.extend(names_after(&code, at));
    }
    let supers = "super::".repeat(file.depth);
    for at in prefixed(&supers) {
        if code[at..].starts_with("super::") {
            continue; // deeper than the crate root
        }
        found.extend(names_after(&code, at));
    }
    let mut out = BTreeMap::new();
    for (name, offset) in found {
        if name != module && modules.contains(&name) {
            out.entry(name).or_insert_with(|| line_of(offset));
        }
    }
    out
}

/// The circles among a crate's top-level modules: `files` maps each module to its files.
fn module_cycles(files: &BTreeMap<String, Vec<File>>) -> Vec<String> {
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut evidence: BTreeMap<(String, String), String> = BTreeMap::new();
    for (module, fs) in files {
        graph.entry(module.clone()).or_default();
        for f in fs {
            for (target, line) in mentions(f, module, &modules) {
                graph.entry(module.clone()).or_default().insert(target.clone());
                evidence.entry((module.clone(), target)).or_insert_with(|| format!("{}:{line}", f.path));
            }
        }
    }
    cycles(&graph)
        .into_iter()
        .map(|(members, cycle)| {
            let wheres: Vec<String> = cycle
                .windows(2)
                .map(|p| format!("{} uses {} at {}", p[0], p[1], evidence[&(p[0].clone(), p[1].clone())]))
                .collect();
            let members: Vec<String> = members.into_iter().collect();
            format!(
                "modules {{{}}} import each other in a circle, for one {} ({})",
                members.join(", "),
                cycle.join(" -> "),
                wheres.join("; ")
            )
        })
        .collect()
}

/// How many `super::` reach the crate root from a file (`src/a.rs` and `src/a/mod.rs`: 1).
fn depth(src: &Path, file: &Path) -> usize {
    let parts = file.strip_prefix(src).map(|p| p.components().count()).unwrap_or(1);
    if file.file_name().is_some_and(|n| n == "mod.rs") { parts - 1 } else { parts }
}

fn crate_files(src: &Path, root: &str) -> BTreeMap<String, Vec<File>> {
    let mut out = BTreeMap::new();
    for module in top_modules(root) {
        let mut paths = Vec::new();
        if src.join(format!("{module}.rs")).is_file() {
            paths.push(src.join(format!("{module}.rs")));
        }
        rust_files(&src.join(&module), &mut paths);
        paths.retain(|p| {
            !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n == "tests.rs" || n.ends_with("_tests.rs"))
        });
        paths.sort();
        let files = paths
            .iter()
            .map(|p| File { path: rel(p), depth: depth(src, p), text: fs::read_to_string(p).expect("readable") })
            .collect();
        out.insert(module, files);
    }
    out
}

#[test]
fn top_level_modules_do_not_import_each_other_in_a_circle() {
    let mut found = Vec::new();
    let mut roots = 0;
    for krate in crate_dirs() {
        let src = workspace().join("crates").join(&krate).join("src");
        for root in ["lib.rs", "main.rs"] {
            let Ok(text) = fs::read_to_string(src.join(root)) else { continue };
            roots += 1;
            for cycle in module_cycles(&crate_files(&src, &text)) {
                found.push(format!("crates/{krate}/src/{root}: {cycle}"));
            }
        }
    }
    assert!(roots >= 5, "found the crate roots");
    assert!(found.is_empty(), "{}", found.join("\n"));
}

fn file(path: &str, depth: usize, text: &str) -> File {
    File { path: path.into(), depth, text: text.into() }
}

fn fake(files: Vec<(&str, File)>) -> BTreeMap<String, Vec<File>> {
    let mut out: BTreeMap<String, Vec<File>> = BTreeMap::new();
    for (m, f) in files {
        out.entry(m.into()).or_default().push(f);
    }
    out
}

#[test]
fn top_modules_are_the_non_test_mods_of_the_root() {
    let root = "//! Root.\nmod a;\npub mod b;\npub(crate) mod c {\n}\n#[cfg(test)]\nmod d_tests;\nuse a::X;\n#[cfg(test)]\nmod tests {\n    mod e;\n}\n";
    assert_eq!(top_modules(root), vec!["a", "b", "c"]);
}

#[test]
fn mentions_read_paths_groups_and_supers() {
    let modules: BTreeSet<String> = ["a", "b", "c", "d", "e", "f"].iter().map(|s| (*s).to_owned()).collect();
    let text = "use crate::{\n    b::X,\n    c, self,\n};\nfn f() { crate::d::g(); } // crate::e in a comment\nuse super::super::f;\nuse my_crate::e;\n#[cfg(test)]\nmod tests { use crate::e; }\n";
    let deep = mentions(&file("src/a/x.rs", 2, text), "a", &modules);
    let want: BTreeMap<String, usize> =
        [("b", 2), ("c", 3), ("d", 5), ("f", 6)].iter().map(|(m, l)| ((*m).to_owned(), *l)).collect();
    assert_eq!(deep, want);
    // In `src/a.rs`, `super::super::f` would be above the crate root; `super::b` is module b.
    let shallow = mentions(&file("src/a.rs", 1, "use super::super::f;\nuse super::{b, self};\n"), "a", &modules);
    assert_eq!(shallow.keys().collect::<Vec<_>>(), vec!["b"]);
}

#[test]
fn module_cycles_on_a_fake_crate() {
    let acyclic = fake(vec![
        ("a", file("src/a.rs", 1, "use crate::b;\n")),
        ("b", file("src/b/mod.rs", 1, "use super::c::X;\n")),
        ("c", file("src/c.rs", 1, "#[cfg(test)]\nmod tests { use crate::a; }\n")),
    ]);
    assert!(module_cycles(&acyclic).is_empty());

    let cyclic = fake(vec![
        ("a", file("src/a.rs", 1, "use crate::b;\n")),
        ("b", file("src/b/mod.rs", 1, "mod x;\n")),
        ("b", file("src/b/x.rs", 2, "//! X.\n\nuse super::super::c::Y;\n")),
        ("c", file("src/c.rs", 1, "fn f() -> crate::a::Z { todo() }\n")),
    ]);
    assert_eq!(
        module_cycles(&cyclic),
        vec![
            "modules {a, b, c} import each other in a circle, for one a -> b -> c -> a (a uses b at src/a.rs:1; b uses c at src/b/x.rs:3; c uses a at src/c.rs:1)"
        ]
    );
}
