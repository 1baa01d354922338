//! The rules files (`rules/*.toml`, embedded at build time, and the files a company records with
//! `tokencomp rules add`) read into one tree: a `toml::Table` shaped
//! `[<jurisdiction>.<year>.<section>…]`, and for every value its full dotted path
//! (`us.2026.social_security.wage_base`), where it came from ([`Origin`]: a shipped file and line,
//! or a recorded file with its ledger sequence, actor and time) and the `source` of its table.
//!
//! Only the shape is checked here: known jurisdictions, four-digit years, values inside sections,
//! a `source` on every table holding values, one definition per value across the shipped files.
//! What each value must hold, and the typed tables, belong to `tokencomp_compliance::rules`, which
//! reads the tree with [`crate::rule_node::At`]. A recorded value overrides the shipped (or an
//! earlier recorded) value at its exact path; nothing here fills a gap.

use std::collections::BTreeMap;
use std::fmt;

use toml::de::{DeTable, DeValue};

/// One rules file shipped with the crate.
#[derive(Clone, Copy, Debug)]
pub struct Shipped {
    /// As messages and origins name it.
    pub name: &'static str,
    pub text: &'static str,
}

/// The shipped rules files, read in this order. Adding a file is one line here; a value defined
/// in two of them is an error naming both.
pub const SHIPPED: &[Shipped] = &[
    Shipped { name: "rules/tax.toml", text: include_str!("../rules/tax.toml") },
    Shipped { name: "rules/us-states.toml", text: include_str!("../rules/us-states.toml") },
    Shipped { name: "rules/uk.toml", text: include_str!("../rules/uk.toml") },
    Shipped { name: "rules/de.toml", text: include_str!("../rules/de.toml") },
];

/// The jurisdictions a rules file may hold: those with a typed reader in
/// `tokencomp_compliance::rules`.
pub const JURISDICTIONS: &[&str] = &["us", "uk", "de"];

/// Where a value in force came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file shipped with tokencomp ([`SHIPPED`]).
    Shipped { file: String, line: usize },
    /// A file recorded in the ledger (`tokencomp rules add`): its event's sequence number, who
    /// recorded it and when (RFC 3339), and the file's name as given.
    Recorded { seq: i64, actor: String, at: String, file: String, line: usize },
}

impl Origin {
    pub fn file(&self) -> &str {
        match self {
            Origin::Shipped { file, .. } | Origin::Recorded { file, .. } => file,
        }
    }

    pub fn line(&self) -> usize {
        match self {
            Origin::Shipped { line, .. } | Origin::Recorded { line, .. } => *line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Shipped { file, line } => write!(f, "shipped {file}:{line}"),
            Origin::Recorded { seq, actor, at, file, line } => {
                write!(f, "recorded seq {seq} by {actor} at {at} ({file}:{line})")
            }
        }
    }
}

/// A value's place in the tree: its origin and the `source` of its table in that file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    pub origin: Origin,
    pub source: String,
}

/// One problem of a rules file, at a line and column (1-based) and a dotted path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProblem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub path: String,
    pub message: String,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.column, self.path, self.message)
    }
}

/// Why a rules file cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileError {
    /// Not TOML, or a jurisdiction no reader knows: nothing else can be said about the file.
    Syntax { file: String, line: Option<usize>, message: String },
    /// TOML of the wrong shape: every problem, in file order.
    Shape(Vec<FileProblem>),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Syntax { file, line, message } => {
                write!(f, "{file}")?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                write!(f, ": {message}")
            }
            FileError::Shape(problems) => {
                let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
                f.write_str(&lines.join("\n"))
            }
        }
    }
}

/// One rules file read: its values by full path, with the line and column of each, and where
/// each table starts.
#[derive(Clone, Debug, PartialEq)]
pub struct RulesFile {
    pub name: String,
    /// Leaf values (strings, numbers, arrays of tables as a whole) by full dotted path.
    pub values: BTreeMap<String, (toml::Value, (usize, usize))>,
    /// Every table's first mention (line, column) by path.
    pub tables: BTreeMap<String, (usize, usize)>,
}

impl RulesFile {
    /// The `source` of the table holding `path` in this file.
    pub fn source_of(&self, path: &str) -> String {
        let table = parent(path);
        match self.values.get(&format!("{table}.source")) {
            Some((toml::Value::String(s), _)) => s.clone(),
            _ => String::new(),
        }
    }

    /// The (line, column) of `path` in this file, or of its nearest table that is in it.
    pub fn position(&self, path: &str) -> Option<(usize, usize)> {
        if let Some((_, at)) = self.values.get(path) {
            return Some(*at);
        }
        let mut p = path;
        loop {
            if let Some(at) = self.tables.get(p) {
                return Some(*at);
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }

    /// The `(jurisdiction, year)` pairs the file holds values for.
    pub fn years(&self) -> Vec<(String, i16)> {
        let mut out: Vec<(String, i16)> = self
            .values
            .keys()
            .filter_map(|p| {
                let mut parts = p.split('.');
                let j = parts.next()?;
                let y = parts.next()?.parse().ok()?;
                Some((j.to_owned(), y))
            })
            .collect();
        out.dedup();
        out.sort();
        out.dedup();
        out
    }
}

/// The table path of a value's path (`us.2026.futa` for `us.2026.futa.rate`).
pub fn parent(path: &str) -> &str {
    path.rfind('.').map_or("", |i| &path[..i])
}

/// Reads one rules file and checks its shape (see the module doc); every shape problem at once.
pub fn read_file(name: &str, text: &str) -> Result<RulesFile, FileError> {
    let (file, problems) = read_file_with_problems(name, text)?;
    if problems.is_empty() { Ok(file) } else { Err(FileError::Shape(problems)) }
}

/// Like [`read_file`], but a shape problem does not stop the reading: the values that could be
/// placed are returned with every shape problem, so a checker can report them together with
/// what the typed readers find. Only a file that is not TOML (or names an unknown
/// jurisdiction) is an error.
pub fn read_file_with_problems(name: &str, text: &str) -> Result<(RulesFile, Vec<FileProblem>), FileError> {
    let syntax = |e: toml::de::Error| FileError::Syntax {
        file: name.to_owned(),
        line: e.span().map(|s| line_of(text, s.start)),
        message: format!("the rules file is not valid TOML: {}", e.message().trim()),
    };
    let spanned = DeTable::parse(text).map_err(syntax)?;
    let table: toml::Table = toml::from_str(text).map_err(syntax)?;
    let mut positions = BTreeMap::new();
    spans(spanned.get_ref(), "", text, &mut positions);
    // A missing key is placed at its nearest table.
    let at = |path: &str| {
        let mut p = path;
        loop {
            if let Some(at) = positions.get(p) {
                return *at;
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => return (1, 1),
            }
        }
    };
    let mut file = RulesFile { name: name.to_owned(), values: BTreeMap::new(), tables: BTreeMap::new() };
    let mut problems = Vec::new();
    let mut problem = |path: String, message: String| {
        let (line, column) = at(&path);
        problems.push(FileProblem { file: name.to_owned(), line, column, path, message });
    };
    for (jurisdiction, years) in &table {
        if !JURISDICTIONS.contains(&jurisdiction.as_str()) {
            return Err(FileError::Syntax {
                file: name.to_owned(),
                line: Some(at(jurisdiction).0),
                message: format!(
                    "unknown jurisdiction `{jurisdiction}` (rules files hold {})",
                    JURISDICTIONS.join(", ")
                ),
            });
        }
        file.tables.insert(jurisdiction.clone(), at(jurisdiction));
        let Some(years) = years.as_table() else {
            problem(jurisdiction.clone(), "this must be a table of years, such as [us.2026.futa]".to_owned());
            continue;
        };
        for (year, sections) in years {
            let path = format!("{jurisdiction}.{year}");
            let valid_year = year.len() == 4 && year.parse::<i16>().is_ok_and(|y| (1000..=9998).contains(&y));
            if !valid_year {
                problem(path, "a year is four digits, such as 2026".to_owned());
                continue;
            }
            file.tables.insert(path.clone(), at(&path));
            let Some(sections) = sections.as_table() else {
                problem(path, "this must be a table of sections, such as [us.2026.futa]".to_owned());
                continue;
            };
            for (key, value) in sections {
                let child = format!("{path}.{key}");
                match value {
                    toml::Value::Table(t) => walk(t, &child, &at, &mut file, &mut problem, false),
                    // A list of rows at the year's level (`[[us.2026.reciprocity]]`): every row
                    // names its own source.
                    toml::Value::Array(items) if !items.is_empty() && items.iter().all(toml::Value::is_table) => {
                        for (i, item) in items.iter().enumerate() {
                            if let toml::Value::Table(t) = item
                                && !matches!(t.get("source"), Some(toml::Value::String(s)) if !s.trim().is_empty())
                            {
                                problem(
                                    format!("{child}[{i}].source"),
                                    "missing: every row names its document".to_owned(),
                                );
                            }
                        }
                        file.values.insert(child.clone(), (value.clone(), at(&child)));
                    }
                    _ => problem(child, format!("a value belongs in a section, such as [{path}.futa]")),
                }
            }
        }
    }
    problems.sort_by_key(|p| (p.line, p.column));
    Ok((file, problems))
}

/// Records `table`'s values and tables; a table holding constants names its `source`, unless a
/// table it is nested in does (`sourced`: the source is inherited).
fn walk(
    table: &toml::Table,
    path: &str,
    at: &dyn Fn(&str) -> (usize, usize),
    file: &mut RulesFile,
    problem: &mut dyn FnMut(String, String),
    sourced: bool,
) {
    let sourced_here = sourced || matches!(table.get("source"), Some(toml::Value::String(s)) if !s.trim().is_empty());
    file.tables.insert(path.to_owned(), at(path));
    let mut holds_values = false;
    for (key, value) in table {
        let child = format!("{path}.{key}");
        match value {
            toml::Value::Table(t) => walk(t, &child, at, file, problem, sourced_here),
            toml::Value::Array(items) if !items.is_empty() && items.iter().all(toml::Value::is_table) => {
                // An array of tables (bands, brackets) is one value; its rows share the source
                // of the table that holds them, and a table nested in a row is checked like any.
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::Table(t) = item {
                        let mut inner =
                            RulesFile { name: file.name.clone(), values: BTreeMap::new(), tables: BTreeMap::new() };
                        for (k, v) in t {
                            if let toml::Value::Table(nested) = v {
                                walk(nested, &format!("{child}[{i}].{k}"), at, &mut inner, problem, sourced_here);
                            }
                        }
                    }
                }
                holds_values = true;
                file.values.insert(child.clone(), (value.clone(), at(&child)));
            }
            _ => {
                if key != "source" {
                    holds_values = true;
                }
                file.values.insert(child.clone(), (value.clone(), at(&child)));
            }
        }
    }
    if holds_values && !sourced {
        match table.get("source") {
            Some(toml::Value::String(s)) if !s.trim().is_empty() => {}
            Some(_) => problem(format!("{path}.source"), "must name the document the values come from".to_owned()),
            None => problem(
                format!("{path}.source"),
                "missing: every table holding constants names the document an auditor opens to check them".to_owned(),
            ),
        }
    }
}

/// The (line, column) of every key, by full dotted path (arrays of tables as `a.b[0].c`).
fn spans(table: &DeTable<'_>, prefix: &str, text: &str, out: &mut BTreeMap<String, (usize, usize)>) {
    for (key, value) in table.iter() {
        let path = if prefix.is_empty() { key.get_ref().to_string() } else { format!("{prefix}.{}", key.get_ref()) };
        out.entry(path.clone()).or_insert_with(|| line_column(text, key.span().start));
        match value.get_ref() {
            DeValue::Table(t) => spans(t, &path, text, out),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let DeValue::Table(t) = item.get_ref() {
                        let p = format!("{path}[{i}]");
                        out.entry(p.clone()).or_insert_with(|| line_column(text, item.span().start));
                        spans(t, &p, text, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    line_column(text, offset).0
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    crate::diag::line_column(text, offset)
}

/// The rules in force: the shipped files, then the recorded ones in ledger order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    table: toml::Table,
    placed: BTreeMap<String, Placed>,
}

/// A value defined in two shipped files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub path: String,
    pub first: Origin,
    pub second: Origin,
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is defined in two shipped files: {}:{} and {}:{}",
            self.path,
            self.first.file(),
            self.first.line(),
            self.second.file(),
            self.second.line()
        )
    }
}

impl Tree {
    /// The tree of `files` read as shipped files: a value in two of them is a [`Duplicate`].
    pub fn shipped_from(files: &[RulesFile]) -> Result<Tree, Vec<Duplicate>> {
        let mut tree = Tree::default();
        let mut duplicates = Vec::new();
        for file in files {
            for (path, (_, (line, _))) in &file.values {
                if path.ends_with(".source") {
                    continue;
                }
                if let Some(held) = tree.placed.get(path) {
                    duplicates.push(Duplicate {
                        path: path.clone(),
                        first: held.origin.clone(),
                        second: Origin::Shipped { file: file.name.clone(), line: *line },
                    });
                }
            }
            tree.overlay(file, &|line| Origin::Shipped { file: file.name.clone(), line });
        }
        if duplicates.is_empty() { Ok(tree) } else { Err(duplicates) }
    }

    /// Lays `file`'s values over the tree: each replaces the value at its exact path.
    /// `origin` gives a value's origin from its line.
    pub fn overlay(&mut self, file: &RulesFile, origin: &dyn Fn(usize) -> Origin) {
        let mut touched = Vec::new();
        for (path, (value, (line, _))) in &file.values {
            if path.ends_with(".source") {
                continue;
            }
            set(&mut self.table, path, value.clone());
            self.placed.insert(path.clone(), Placed { origin: origin(*line), source: file.source_of(path) });
            touched.push(parent(path).to_owned());
        }
        touched.dedup();
        for table in touched {
            self.resource(&table);
        }
    }

    /// Sets the merged `source` of `table`: its values' sources, each once, in key order; where
    /// they differ, each names the keys it covers.
    fn resource(&mut self, table: &str) {
        let prefix = format!("{table}.");
        let mut by_source: Vec<(String, Vec<String>)> = Vec::new();
        for (path, placed) in self.placed.range(prefix.clone()..) {
            let Some(key) = path.strip_prefix(&prefix) else { break };
            if key.contains('.') || key == "source" {
                continue;
            }
            match by_source.iter_mut().find(|(s, _)| *s == placed.source) {
                Some((_, keys)) => keys.push(key.to_owned()),
                None => by_source.push((placed.source.clone(), vec![key.to_owned()])),
            }
        }
        let merged = match by_source.as_slice() {
            [] => return,
            [(one, _)] => one.clone(),
            many => many.iter().map(|(s, keys)| format!("{s} ({})", keys.join(", "))).collect::<Vec<_>>().join("; "),
        };
        set(&mut self.table, &format!("{table}.source"), toml::Value::String(merged));
    }

    /// The tree as the typed readers read it.
    pub fn table(&self) -> &toml::Table {
        &self.table
    }

    /// The table at `path` (`us.2026`), when the tree has one.
    pub fn get(&self, path: &str) -> Option<&toml::Table> {
        let mut t = &self.table;
        for part in path.split('.') {
            t = t.get(part)?.as_table()?;
        }
        Some(t)
    }

    /// The value at `path` as written (a string without its quotes), when there is one.
    pub fn written(&self, path: &str) -> Option<String> {
        Some(match lookup(&self.table, path)? {
            toml::Value::String(s) => s.clone(),
            other => render(other),
        })
    }

    /// Every value in force (the `source` keys aside) with its origin and source, by path.
    pub fn placed(&self) -> &BTreeMap<String, Placed> {
        &self.placed
    }

    /// The years present for a jurisdiction, in order.
    pub fn years(&self, jurisdiction: &str) -> Vec<i16> {
        let Some(t) = self.table.get(jurisdiction).and_then(toml::Value::as_table) else { return Vec::new() };
        t.keys().filter_map(|k| k.parse().ok()).collect()
    }

    /// One line per value in force, `path = value` in path order with the merged `source` of
    /// each table, values written as TOML: the text the rule set's hash is taken over.
    pub fn canonical(&self) -> String {
        let mut lines: BTreeMap<String, String> = BTreeMap::new();
        for path in self.placed.keys() {
            if let Some(v) = lookup(&self.table, path) {
                lines.insert(path.clone(), render(v));
            }
            let source = format!("{}.source", parent(path));
            if let Some(v) = lookup(&self.table, &source) {
                lines.insert(source, render(v));
            }
        }
        lines.iter().map(|(p, v)| format!("{p} = {v}\n")).collect()
    }
}

fn render(v: &toml::Value) -> String {
    match v {
        toml::Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", inner.join(", "))
        }
        toml::Value::Table(t) => {
            let inner: Vec<String> = t.iter().map(|(k, v)| format!("{k} = {}", render(v))).collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// The value at a dotted path (no array indices).
fn lookup<'t>(table: &'t toml::Table, path: &str) -> Option<&'t toml::Value> {
    let (head, last) = match path.rfind('.') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    };
    let mut t = table;
    if !head.is_empty() {
        for part in head.split('.') {
            t = t.get(part)?.as_table()?;
        }
    }
    t.get(last)
}

/// Sets the value at a dotted path, creating the tables on the way (a value in the way is
/// replaced by a table: the shape check keeps tables and values apart).
fn set(table: &mut toml::Table, path: &str, value: toml::Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut t = table;
    for part in parts {
        let entry = t.entry(part.to_owned()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(inner) = entry else { return };
        t = inner;
    }
    t.insert(last.to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_path_line_and_source_and_the_shape_is_checked() {
        let text = "[us.2030.futa]\nrate = \"0.6%\"\nwage_base = \"7000\"\nsource = \"Pub 15\"\n\n[us.2030.medicare]\nemployee_rate = \"1.45%\"\n";
        let err = read_file("a.toml", text).expect_err("no source");
        let FileError::Shape(problems) = &err else { panic!("{err:?}") };
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].line, problems[0].path.as_str()), (6, "us.2030.medicare.source"));
        let file =
            read_file("a.toml", &text.replace("\"1.45%\"\n", "\"1.45%\"\nsource = \"IRC 3101\"\n")).expect("valid");
        assert_eq!(file.values["us.2030.futa.wage_base"].1, (3, 1));
        assert_eq!(file.source_of("us.2030.futa.rate"), "Pub 15");
        assert_eq!(file.years(), [("us".to_owned(), 2030)]);
        let err = read_file("b.toml", "[fr.2030.x]\nrate = \"1%\"\n").expect_err("unknown jurisdiction");
        assert!(matches!(err, FileError::Syntax { line: Some(1), .. }), "{err:?}");
        let err = read_file("b.toml", "[us.2030]\nrate = \"1%\"\n").expect_err("value outside a section");
        assert!(err.to_string().contains("b.toml:2:1: us.2030.rate"), "{err}");
    }

    #[test]
    fn two_shipped_files_defining_one_value_are_named_and_a_recorded_value_overrides_one_path() {
        let a = read_file("rules/a.toml", "[us.2030.futa]\nrate = \"0.6%\"\nwage_base = \"7000\"\nsource = \"A\"\n")
            .expect("valid");
        let b = read_file("rules/b.toml", "\n[us.2030.futa]\nwage_base = \"7000\"\nsource = \"B\"\n").expect("valid");
        let dup = Tree::shipped_from(&[a.clone(), b]).expect_err("duplicate");
        assert_eq!(
            dup[0].to_string(),
            "us.2030.futa.wage_base is defined in two shipped files: rules/a.toml:3 and rules/b.toml:3"
        );
        let mut tree = Tree::shipped_from(&[a]).expect("valid");
        let before = tree.canonical();
        let fix = read_file("fix.toml", "[us.2030.futa]\nwage_base = \"7500\"\nsource = \"C\"\n").expect("valid");
        let origin = |line| Origin::Recorded {
            seq: 9,
            actor: "user:cfo".into(),
            at: "2030-01-02T00:00:00Z".into(),
            file: "fix.toml".into(),
            line,
        };
        tree.overlay(&fix, &origin);
        assert_eq!(tree.placed()["us.2030.futa.wage_base"].origin, origin(2));
        assert_eq!(tree.placed()["us.2030.futa.rate"].origin, Origin::Shipped { file: "rules/a.toml".into(), line: 2 });
        assert_eq!(
            tree.get("us.2030.futa").and_then(|t| t.get("source")).and_then(toml::Value::as_str),
            Some("A (rate); C (wage_base)")
        );
        assert_ne!(tree.canonical(), before);
        assert!(tree.canonical().contains("us.2030.futa.wage_base = \"7500\"\n"), "{}", tree.canonical());
    }
}
