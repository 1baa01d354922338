//! Diagnostics for user-written input: which file, where in it, and why.
//!
//! Validators collect every problem they find into a `Vec<Diagnostic>` rather than stopping
//! at the first, so a person fixes a file in one pass.

use std::fmt;

/// Where in an input a problem is: a line and column when the format keeps them (TOML, CSV,
/// JSON), and the field's path (`grant[2].schedule.cliff_months`, a JSON pointer) always
/// when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub field: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Location,
    pub message: String,
}

impl Diagnostic {
    pub fn new(file: &str, field: impl Into<Option<String>>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            location: Location { file: file.to_owned(), line: None, column: None, field: field.into() },
            message: message.into(),
        }
    }

    /// Sets the line and column (both 1-based).
    pub fn at(mut self, line: usize, column: usize) -> Diagnostic {
        self.location.line = Some(line);
        self.location.column = Some(column);
        self
    }

    /// Line and column (1-based) of a byte offset in `text`.
    pub fn at_offset(self, text: &str, offset: usize) -> Diagnostic {
        let (line, column) = line_column(text, offset);
        self.at(line, column)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Renders as docs/interfaces.md#errors asks: `error: <what>` then `  --> file:line:column (field)`.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let l = &self.location;
        write!(f, "  --> {}", l.file)?;
        if let (Some(line), Some(col)) = (l.line, l.column) {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(field) = &l.field {
            write!(f, " ({field})")?;
        }
        Ok(())
    }
}

/// A user's file as text. Bytes that are not UTF-8 are bad input reported at the line and
/// column where they start (every line before is valid), never a failure of the run.
pub fn decode_utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, Vec<Diagnostic>> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("");
        let byte = bytes.get(e.valid_up_to()).map_or(String::new(), |b| format!(" (byte 0x{b:02X})"));
        let message = format!("the file is not valid UTF-8 here{byte}: save it as UTF-8");
        vec![Diagnostic::new(file, None, message).at_offset(valid, valid.len())]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_reported_at_its_line() {
        let bytes = b"id,name\nada,Ada\nben,B\xE9n\n";
        let d = decode_utf8("people.csv", bytes).expect_err("Latin-1 is not UTF-8");
        assert_eq!(
            d[0].to_string(),
            "error: the file is not valid UTF-8 here (byte 0xE9): save it as UTF-8\n  --> people.csv:3:6"
        );
        assert_eq!(decode_utf8("ok.csv", "id,name\nzoë,Zoë\n".as_bytes()), Ok("id,name\nzoë,Zoë\n"));
    }

    #[test]
    fn renders_file_line_column_and_field() {
        let d = Diagnostic::new("company.toml", Some("grant[1].amount".to_owned()), "bad amount").at(7, 10);
        assert_eq!(d.to_string(), "error: bad amount\n  --> company.toml:7:10 (grant[1].amount)");
    }

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 9), (2, 3));
    }
}
