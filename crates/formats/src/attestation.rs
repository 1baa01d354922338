//! Attestation data read from JSON: an attested metric at a JSON pointer of a results document,
//! read from the number's own digits (never through a double), and a metric from a parsed JSON
//! value. The attestation rules themselves are `tokencomp_core::attestation`.

use tokencomp_core::attestation::{Fixed18, ValueError};

/// A metric from a parsed JSON value: a string is read as
/// [`Fixed18::parse_decimal`], an integer exactly. A fractional number is refused:
/// the parser already turned it into a double, so its digits are gone; read it from the
/// document's text with [`metric_at`] instead.
pub fn from_json(value: &serde_json::Value) -> Result<Fixed18, ValueError> {
    match value {
        serde_json::Value::String(s) => Fixed18::parse_decimal(s),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Fixed18::parse_decimal(&n.to_string()),
        serde_json::Value::Number(_) => Err(ValueError::NotANumber { kind: "fractional number (already a double)" }),
        serde_json::Value::Null => Err(ValueError::NotANumber { kind: "null" }),
        serde_json::Value::Bool(_) => Err(ValueError::NotANumber { kind: "boolean" }),
        serde_json::Value::Array(_) => Err(ValueError::NotANumber { kind: "array" }),
        serde_json::Value::Object(_) => Err(ValueError::NotANumber { kind: "object" }),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    #[error("not a JSON document: {0}")]
    NotJson(String),
    #[error("{pointer:?} is not a JSON pointer (it starts with /)")]
    BadPointer { pointer: String },
    #[error("nothing at {pointer:?}")]
    NotFound { pointer: String },
    #[error("at {pointer:?}: {source}")]
    Value { pointer: String, source: ValueError },
}

/// The metric at a JSON pointer (RFC 6901, e.g. `/results/mmlu/acc,none` in the results file
/// lm-evaluation-harness writes) of a JSON document, read from the number's own digits in the
/// text — never through a double — or from a string.
pub fn metric_at(text: &str, pointer: &str) -> Result<Fixed18, MetricError> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| MetricError::NotJson(e.to_string()))?;
    let not_found = || MetricError::NotFound { pointer: pointer.to_owned() };
    let tokens: Vec<String> = match pointer {
        "" => Vec::new(),
        p if p.starts_with('/') => p[1..].split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect(),
        _ => return Err(MetricError::BadPointer { pointer: pointer.to_owned() }),
    };
    // The document is valid JSON (checked above), so the scanner only finds token boundaries.
    let mut scan = Scan { b: text.as_bytes(), i: 0 };
    for token in &tokens {
        scan.ws();
        match scan.peek() {
            Some(b'{') => {
                scan.i += 1;
                loop {
                    scan.ws();
                    if scan.peek() != Some(b'"') {
                        return Err(not_found());
                    }
                    let key = scan.string();
                    let key: String = serde_json::from_str(key).map_err(|e| MetricError::NotJson(e.to_string()))?;
                    scan.ws();
                    scan.i += 1; // ':'
                    scan.ws();
                    if key == *token {
                        break;
                    }
                    scan.skip_value();
                    scan.ws();
                    if scan.peek() != Some(b',') {
                        return Err(not_found());
                    }
                    scan.i += 1;
                }
            }
            Some(b'[') => {
                let index: usize = match token.parse() {
                    Ok(n) if token == "0" || !token.starts_with('0') => n,
                    _ => return Err(not_found()),
                };
                scan.i += 1;
                for _ in 0..index {
                    scan.ws();
                    if scan.peek() == Some(b']') {
                        return Err(not_found());
                    }
                    scan.skip_value();
                    scan.ws();
                    if scan.peek() != Some(b',') {
                        return Err(not_found());
                    }
                    scan.i += 1;
                }
                scan.ws();
                if scan.peek() == Some(b']') {
                    return Err(not_found());
                }
            }
            _ => return Err(not_found()),
        }
    }
    scan.ws();
    let start = scan.i;
    scan.skip_value();
    let raw = &text[start..scan.i];
    let value = match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Number(_)) => Fixed18::parse_decimal(raw),
        Ok(other) => from_json(&other),
        Err(e) => return Err(MetricError::NotJson(e.to_string())),
    };
    value.map_err(|source| MetricError::Value { pointer: pointer.to_owned(), source })
}

/// Token boundaries in a JSON text already known to be valid.
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// The string starting here, quotes included, as it stands in the text.
    fn string(&mut self) -> &'a str {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => break,
                _ => {}
            }
        }
        // INVARIANT: the slice starts and ends at ASCII quotes of a valid UTF-8 text.
        std::str::from_utf8(&self.b[start..self.i.min(self.b.len())]).unwrap_or("")
    }

    fn skip_value(&mut self) {
        match self.peek() {
            Some(b'"') => {
                self.string();
            }
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(c) = self.peek() {
                    match c {
                        b'"' => {
                            self.string();
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while !matches!(self.peek(), None | Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')) {
                    self.i += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(text: &str) -> Fixed18 {
        Fixed18::parse_decimal(text).unwrap()
    }

    #[test]
    fn metrics_are_read_from_the_documents_own_digits() {
        // The shape of lm-evaluation-harness's results file; serde_json alone reads this number
        // as a double whose shortest form ends in ...295, not ...297.
        let text = r#"{"results": {"hellaswag": {"acc,none": 0.5, "alias": "x"},
            "mmlu": {"alias": "mmlu", "acc,none": 0.25614035087719297, "acc_stderr,none": 0.003}},
            "list": [1, {"a/b": "0.75", "t~x": -2e-3}], "n": 7, "flag": true}"#;
        let at = |p: &str| metric_at(text, p);
        assert_eq!(at("/results/mmlu/acc,none").unwrap().units(), "256140350877192970");
        assert_eq!(at("/results/hellaswag/acc,none").unwrap(), d("0.5"));
        assert_eq!(at("/list/1/a~1b").unwrap(), d("0.75"));
        assert_eq!(at("/list/1/t~0x").unwrap(), d("-0.002"));
        assert_eq!(at("/list/0").unwrap(), d("1"));
        assert_eq!(at("/n").unwrap(), d("7"));
        for missing in ["/results/mmlu/acc", "/list/2", "/list/01", "/n/x", "/nope"] {
            assert_eq!(at(missing), Err(MetricError::NotFound { pointer: missing.into() }), "{missing}");
        }
        assert!(matches!(at("/flag"), Err(MetricError::Value { .. })));
        assert!(matches!(at("results"), Err(MetricError::BadPointer { .. })));
        assert!(matches!(metric_at("{", ""), Err(MetricError::NotJson(_))));
        assert!(matches!(
            metric_at("1e-19", ""),
            Err(MetricError::Value { source: ValueError::TooManyDecimals { .. }, .. })
        ));
        // A parsed value: strings and integers exactly, fractions refused.
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(from_json(&v["n"]).unwrap(), d("7"));
        assert!(from_json(&v["results"]["mmlu"]["acc,none"]).is_err());
        assert_eq!(from_json(&serde_json::Value::Null), Err(ValueError::NotANumber { kind: "null" }));
    }
}
