//! The tax-rules table's file (`rules/tax.toml`, embedded at build time) read into its shape:
//! years, entries and their fields, each with its byte offset so a problem names its line. Only
//! the shape is checked here (known sections, tables where tables belong); what each field must
//! hold, and the typed table, belong to `tokencomp_compliance::rules`.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The embedded table's name, as error messages give it.
pub const BUILTIN_FILE: &str = "rules/tax.toml";

/// The table shipped with the crate.
pub const BUILTIN_TEXT: &str = include_str!("../rules/tax.toml");

/// A key as written (a year, a state code), with its byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    pub at: usize,
}

/// A field's value: the text of a string, or how any other TOML value is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Other(String),
}

/// One field of an entry, with the byte offset of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub value: Value,
    pub at: usize,
}

/// One `[a.b.c]` entry: where it starts and its fields by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub at: usize,
    pub fields: BTreeMap<String, Field>,
}

/// One `[us.<year>.*]` group of entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsYear {
    pub federal_supplemental: Option<Entry>,
    pub social_security: Option<Entry>,
    pub medicare: Option<Entry>,
    pub additional_medicare: Option<Entry>,
    pub futa: Option<Entry>,
    /// By state code, in key order.
    pub state: Vec<(Key, Entry)>,
}

/// One `[uk.<year>.*]` group of entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UkYear {
    pub paye: Option<Entry>,
    pub nic: Option<Entry>,
}

/// The file's shape: each jurisdiction's years, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub us: Vec<(Key, UsYear)>,
    pub uk: Vec<(Key, UkYear)>,
}

/// The file is not TOML of the table's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

/// Reads the file's shape; every field's value is left for the caller to check.
pub fn read(text: &str) -> Result<Table, SyntaxError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| SyntaxError {
        line: e.span().map(|s| line_of(text, s.start)),
        message: e.message().trim().to_owned(),
    })?;
    let us = raw
        .us
        .into_iter()
        .map(|(k, y)| {
            let year = UsYear {
                federal_supplemental: y.federal_supplemental.map(entry),
                social_security: y.social_security.map(entry),
                medicare: y.medicare.map(entry),
                additional_medicare: y.additional_medicare.map(entry),
                futa: y.futa.map(entry),
                state: y.state.into_iter().map(|(k, e)| (key(k), entry(e))).collect(),
            };
            (key(k), year)
        })
        .collect();
    let uk =
        raw.uk.into_iter().map(|(k, y)| (key(k), UkYear { paye: y.paye.map(entry), nic: y.nic.map(entry) })).collect();
    Ok(Table { us, uk })
}

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes().iter().take(end).filter(|&&b| b == b'\n').count() + 1
}

fn key(k: Spanned<String>) -> Key {
    Key { at: k.span().start, name: k.into_inner() }
}

fn entry(raw: RawEntry) -> Entry {
    let at = raw.span().start;
    let fields = raw
        .into_inner()
        .into_iter()
        .map(|(k, v)| {
            let at = v.span().start;
            let value = match v.into_inner() {
                toml::Value::String(s) => Value::Text(s),
                other => Value::Other(other.to_string()),
            };
            (k.into_inner(), Field { value, at })
        })
        .collect();
    Entry { at, fields }
}

// serde gives the shape with spans; every value is checked by the caller, so all the problems of
// a file are reported together.

type RawEntry = Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    us: BTreeMap<Spanned<String>, RawUsYear>,
    #[serde(default)]
    uk: BTreeMap<Spanned<String>, RawUkYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUsYear {
    federal_supplemental: Option<RawEntry>,
    social_security: Option<RawEntry>,
    medicare: Option<RawEntry>,
    additional_medicare: Option<RawEntry>,
    futa: Option<RawEntry>,
    #[serde(default)]
    state: BTreeMap<Spanned<String>, RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUkYear {
    paye: Option<RawEntry>,
    nic: Option<RawEntry>,
}
