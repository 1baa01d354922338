//! `tokencomp docs`: every page it lists prints byte for byte the file it names, and a topic it
//! does not have is bad input (exit 2) naming the pages it has.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tokencomp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokencomp")).args(args).current_dir(root()).output().expect("runs")
}

#[test]
fn every_listed_page_prints_the_file_it_names() {
    let out = tokencomp(&["docs"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = String::from_utf8(out.stdout).expect("utf-8");
    let pages: Vec<(&str, &str)> = list
        .lines()
        .map(|l| {
            let mut w = l.split_whitespace();
            (w.next().expect("topic"), w.next().expect("path"))
        })
        .collect();
    let topics: Vec<&str> = pages.iter().map(|(t, _)| *t).collect();
    for want in ["architecture", "interfaces", "errors", "tax-rules", "adr"] {
        assert!(topics.contains(&want), "`{want}` is listed: {topics:?}");
    }
    // Every page under docs/ is listed (the year-end and exports pages were once left out).
    for entry in std::fs::read_dir(root().join("docs")).expect("docs/") {
        let name = entry.expect("entry").file_name().into_string().expect("utf-8");
        if name.ends_with(".md") {
            let path = format!("docs/{name}");
            assert!(pages.iter().any(|(_, p)| *p == path), "{path} is listed: {pages:?}");
        }
    }
    for (topic, path) in pages {
        let shown = tokencomp(&["docs", topic]);
        assert!(shown.status.success(), "{topic}: {}", String::from_utf8_lossy(&shown.stderr));
        let file = std::fs::read(root().join(path)).expect("the page's file exists");
        assert!(shown.stdout == file, "`tokencomp docs {topic}` differs from {path}");
    }
}

#[test]
fn an_unknown_topic_is_bad_input_naming_the_pages() {
    let out = tokencomp(&["docs", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no page `nope`"), "{err}");
    assert!(err.contains("tax-rules") && err.contains("interfaces"), "{err}");
    assert!(err.contains("--> TOPIC"), "{err}");
}
