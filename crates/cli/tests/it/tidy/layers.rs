//! The crates' layers, read from `cargo metadata`: every workspace crate has a layer in
//! [`LAYERS`], a normal (or build) dependency points to a strictly lower layer, and the
//! dependencies with the dev-dependencies added form no cycle among the workspace crates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{cycles, rel, workspace};

/// The layer of each workspace crate (its directory under `crates/`), lowest first. A crate
/// may depend only on crates of lower layers; a crate missing here, or a line naming no
/// workspace crate, fails the test.
const LAYERS: &[(&str, u32)] = &[
    ("money", 0),      // exact amounts; uses nothing of ours
    ("core", 1),       // the award domain: grants, schedules, the calendar
    ("formats", 2),    // company TOML, canonical fragments, CSV import, OCF, tax-rules reader, diagnostics
    ("compliance", 3), // rules, withholding, FMV, settlement, payroll, lots, accounting, books, statements
    ("evm", 3),        // the chain's lower half (the EVM and the contract); uses nothing of ours
    ("risk", 3),       // Monte Carlo valuation; uses nothing of ours
    ("store", 4),      // the ledger (SQLite, PostgreSQL): money, core, formats
    ("chain", 5),      // releases on chain: core, money, evm and store, so one above store
    ("service", 6),    // the one layer every face calls
    ("api", 7),        // the HTTP face
    ("cli", 8),        // the command-line face
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Build,
    Dev,
}

impl Kind {
    fn arrow(self) -> &'static str {
        match self {
            Kind::Normal => "->",
            Kind::Build => "-build->",
            Kind::Dev => "-dev->",
        }
    }
}

/// A workspace crate as `cargo metadata` describes it.
#[derive(Debug)]
struct Crate {
    /// Its directory under `crates/` (the name [`LAYERS`] uses).
    dir: String,
    /// Where its `Cargo.toml` is (for messages).
    manifest: String,
    /// Its manifest's text, to give a dependency's line (empty when unknown).
    manifest_text: String,
    /// The workspace crates it depends on (directories), with the kind of dependency.
    deps: Vec<(String, String, Kind)>,
}

/// The workspace crates of a `cargo metadata --format-version 1 --no-deps` document; a
/// dependency is on a workspace crate when it has a path and names a workspace package.
fn workspace_crates(metadata: &Value) -> Result<Vec<Crate>, String> {
    let packages = metadata["packages"].as_array().ok_or("cargo metadata: no `packages` array")?;
    let mut dir_of = BTreeMap::new();
    for p in packages {
        let name = p["name"].as_str().ok_or("a package without a name")?;
        let manifest = p["manifest_path"].as_str().ok_or("a package without a manifest_path")?;
        let dir = Path::new(manifest).parent().and_then(Path::file_name).ok_or("a manifest without a directory")?;
        dir_of.insert(name.to_owned(), dir.to_string_lossy().into_owned());
    }
    let mut out = Vec::new();
    for p in packages {
        let mut deps = Vec::new();
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let name = d["name"].as_str().unwrap_or_default();
            let (Some(dir), true) = (dir_of.get(name), d.get("path").is_some()) else { continue };
            let kind = match d["kind"].as_str() {
                Some("dev") => Kind::Dev,
                Some("build") => Kind::Build,
                _ => Kind::Normal,
            };
            if !deps.iter().any(|(dd, _, k)| dd == dir && *k == kind) {
                deps.push((dir.clone(), name.to_owned(), kind));
            }
        }
        let name = p["name"].as_str().unwrap_or_default();
        out.push(Crate {
            dir: dir_of[name].clone(),
            manifest: p["manifest_path"].as_str().unwrap_or_default().to_owned(),
            manifest_text: String::new(),
            deps,
        });
    }
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(out)
}

/// `manifest:line` of the line that declares `package` (the manifest alone when not found).
fn at(c: &Crate, package: &str) -> String {
    let line = c
        .manifest_text
        .lines()
        .position(|l| l.trim_start().strip_prefix(package).is_some_and(|rest| rest.starts_with([' ', '.', '='])));
    match line {
        Some(i) => format!("{}:{}", c.manifest, i + 1),
        None => c.manifest.clone(),
    }
}

fn layer_problems(crates: &[Crate], layers: &[(&str, u32)]) -> Vec<String> {
    let layer = |dir: &str| layers.iter().find(|(d, _)| *d == dir).map(|(_, l)| *l);
    let mut out = Vec::new();
    for c in crates {
        let Some(own) = layer(&c.dir) else {
            out.push(format!(
                "{}: crate `{}` has no layer: add a line for it to LAYERS in tidy/layers.rs",
                c.manifest, c.dir
            ));
            continue;
        };
        for (dep, package, kind) in c.deps.iter().filter(|(_, _, k)| *k != Kind::Dev) {
            match layer(dep) {
                Some(theirs) if theirs >= own => out.push(format!(
                    "{}: `{}` (layer {own}) has a {kind:?} dependency on `{dep}` (layer {theirs}); a crate may depend only on lower layers",
                    at(c, package),
                    c.dir
                )),
                _ => {}
            }
        }
    }
    for (dir, l) in layers {
        if !crates.iter().any(|c| c.dir == *dir) {
            out.push(format!(
                "tidy/layers.rs: LAYERS gives `{dir}` layer {l}, but no workspace crate is in crates/{dir}"
            ));
        }
    }
    out
}

fn dev_cycle_problems(crates: &[Crate]) -> Vec<String> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in crates {
        let entry = graph.entry(c.dir.clone()).or_default();
        entry.extend(c.deps.iter().map(|(d, _, _)| d.clone()).filter(|d| *d != c.dir));
    }
    let mut out = Vec::new();
    for (_, cycle) in cycles(&graph) {
        let mut text = cycle[0].clone();
        let mut wheres = Vec::new();
        for pair in cycle.windows(2) {
            let c = crates.iter().find(|c| c.dir == pair[0]).expect("a node is a crate");
            // The strongest kind of the edge: a normal dependency, else build, else dev.
            let (_, package, kind) = [Kind::Normal, Kind::Build, Kind::Dev]
                .iter()
                .find_map(|k| c.deps.iter().find(|(d, _, dk)| *d == pair[1] && dk == k))
                .expect("an edge is a dependency");
            text.push_str(&format!(" {} {}", kind.arrow(), pair[1]));
            wheres.push(at(c, package));
        }
        out.push(format!("dependency cycle among workspace crates: {text} (declared at {})", wheres.join(", ")));
    }
    out
}

fn metadata() -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

fn repo_crates() -> Vec<Crate> {
    let mut crates = workspace_crates(&metadata()).expect("cargo metadata has the usual shape");
    assert!(crates.len() >= 5, "found the workspace crates");
    for c in &mut crates {
        c.manifest_text = std::fs::read_to_string(&c.manifest).unwrap_or_default();
        c.manifest = rel(Path::new(&c.manifest));
    }
    crates
}

#[test]
fn crates_depend_only_on_lower_layers() {
    let found = layer_problems(&repo_crates(), LAYERS);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn dev_dependencies_form_no_cycle() {
    let found = dev_cycle_problems(&repo_crates());
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn layers_name_each_crate_once() {
    let names: BTreeSet<&str> = LAYERS.iter().map(|(d, _)| *d).collect();
    assert_eq!(names.len(), LAYERS.len(), "a crate is listed twice in LAYERS");
}

/// A package of a fake metadata document: its name, and its dependencies with their kind.
type FakePackage<'a> = (&'a str, &'a [(&'a str, Option<&'a str>)]);

/// A `cargo metadata` document with the given packages.
fn fake(packages: &[FakePackage]) -> Value {
    let packages: Vec<Value> = packages
        .iter()
        .map(|(name, deps)| {
            let deps: Vec<Value> = deps
                .iter()
                .map(|(d, kind)| serde_json::json!({ "name": d, "kind": kind, "path": format!("/w/crates/{d}") }))
                .chain([serde_json::json!({ "name": "serde", "kind": null })])
                .collect();
            serde_json::json!({ "name": name, "manifest_path": format!("/w/crates/{name}/Cargo.toml"), "dependencies": deps })
        })
        .collect();
    serde_json::json!({ "packages": packages })
}

#[test]
fn layer_check_on_fake_metadata() {
    let table: &[(&str, u32)] = &[("low", 0), ("mid", 1), ("top", 2)];
    let good = fake(&[
        ("low", &[("top", Some("dev"))]),
        ("mid", &[("low", None)]),
        ("top", &[("mid", None), ("low", Some("build"))]),
    ]);
    let crates = workspace_crates(&good).expect("parses");
    assert_eq!(layer_problems(&crates, table), Vec::<String>::new());

    // Upwards, sideways (same layer) and unknown crates fail; so does a table line with no crate.
    let table: &[(&str, u32)] = &[("low", 0), ("mid", 1), ("side", 1), ("top", 2), ("gone", 3)];
    let bad = fake(&[
        ("low", &[("mid", None)]),
        ("mid", &[("side", Some("build"))]),
        ("side", &[]),
        ("top", &[]),
        ("new", &[("low", None)]),
    ]);
    let found = layer_problems(&workspace_crates(&bad).expect("parses"), table);
    assert_eq!(
        found,
        vec![
            "/w/crates/low/Cargo.toml: `low` (layer 0) has a Normal dependency on `mid` (layer 1); a crate may depend only on lower layers",
            "/w/crates/mid/Cargo.toml: `mid` (layer 1) has a Build dependency on `side` (layer 1); a crate may depend only on lower layers",
            "/w/crates/new/Cargo.toml: crate `new` has no layer: add a line for it to LAYERS in tidy/layers.rs",
            "tidy/layers.rs: LAYERS gives `gone` layer 3, but no workspace crate is in crates/gone",
        ]
    );
}

#[test]
fn dev_cycle_check_on_fake_metadata() {
    let acyclic = fake(&[("a", &[("b", Some("dev"))]), ("b", &[("c", None)]), ("c", &[])]);
    assert!(dev_cycle_problems(&workspace_crates(&acyclic).expect("parses")).is_empty());

    let cyclic = fake(&[("evm", &[("chain", Some("dev"))]), ("chain", &[("evm", None)])]);
    let mut crates = workspace_crates(&cyclic).expect("parses");
    crates[1].manifest_text = "[dev-dependencies]\nchain.workspace = true\n".into();
    assert_eq!(
        dev_cycle_problems(&crates),
        vec![
            "dependency cycle among workspace crates: chain -> evm -dev-> chain (declared at /w/crates/chain/Cargo.toml, /w/crates/evm/Cargo.toml:2)"
        ]
    );
}
