//! Text cells of the CSV files we write (payroll, books, Form 8949): one function for all.
//!
//! A spreadsheet reads a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
//! as a formula, so a person's name or a memo could run as one when an export is opened
//! ("CSV injection"). As OWASP recommends, such a text cell is written with a single quote
//! before it; numbers are written by the callers as numbers and never pass through here (a
//! negative adjustment stays a negative number). The prefix is reversible (`restore`), so an
//! export read back (a closed payroll period) gives the text that was written.
//!
//! Must never: change a cell that does not begin with one of those characters (the sample
//! company's exports are byte for byte what they were).

use std::borrow::Cow;

/// What makes a spreadsheet treat a cell as a formula (OWASP, CSV Injection).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn needs_prefix(s: &str) -> bool {
    // A cell that already begins with quotes followed by a formula character gets one more,
    // so `restore` can tell an added quote from one the text had.
    let rest = s.trim_start_matches('\'');
    rest.starts_with(FORMULA_START)
}

/// The text as a spreadsheet will show it, never run it: `'` before a cell that would start a
/// formula.
pub fn neutralise(s: &str) -> Cow<'_, str> {
    if needs_prefix(s) { Cow::Owned(format!("'{s}")) } else { Cow::Borrowed(s) }
}

/// The inverse of [`neutralise`], for reading back a file we wrote.
pub fn restore(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if needs_prefix(rest) => rest,
        _ => s,
    }
}

/// A text cell for a hand-written CSV line: neutralised, then quoted as RFC 4180 asks when
/// it holds a comma, a quote or a line break.
pub fn text_field(s: &str) -> Cow<'_, str> {
    let s = neutralise(s);
    if s.contains([',', '"', '\n', '\r']) { Cow::Owned(format!("\"{}\"", s.replace('"', "\"\""))) } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_get_a_quote_and_everything_else_is_unchanged() {
        for (text, written) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=x", "''=x"),
            ("Ada Okafor", "Ada Okafor"),
            ("O'Neil", "O'Neil"),
            ("'quoted'", "'quoted'"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise(text), written, "{text:?}");
            assert_eq!(restore(&neutralise(text)), text, "{text:?} reads back");
        }
    }

    #[test]
    fn fields_are_neutralised_then_quoted() {
        assert_eq!(text_field("=1,2"), "\"'=1,2\"");
        assert_eq!(text_field("\rx"), "\"'\rx\"");
        assert_eq!(text_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text_field("plain"), "plain");
    }
}
