//! The package's JSON files: loading them, walking their values with a path for every
//! diagnostic, finding a value's place in the text, and exact numbers.

use super::*;

/// A JSON file that was read and parsed successfully.
pub(super) struct Doc {
    pub(super) file: String,
    pub(super) text: String,
    pub(super) value: Value,
}

impl Doc {
    pub(super) fn diag(&self, ptr: &str, message: impl Into<String>) -> Diagnostic {
        let field = (!ptr.is_empty()).then(|| ptr.to_owned());
        Diagnostic::new(&self.file, field, message).at_offset(&self.text, locate(&self.text, ptr))
    }

    pub(super) fn root(&self) -> Node<'_> {
        Node { doc: self, v: &self.value, ptr: String::new() }
    }
}

pub(super) fn load(
    file: &str,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
    errs: &mut Vec<Diagnostic>,
) -> Option<Doc> {
    let text = match read(file) {
        Ok(t) => t,
        Err(e) => {
            errs.push(Diagnostic::new(file, None, format!("cannot read the file: {e}")));
            return None;
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => Some(Doc { file: file.to_owned(), text, value }),
        Err(e) => {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let msg = full.strip_suffix(&suffix).unwrap_or(&full);
            let mut d = Diagnostic::new(file, None, format!("invalid JSON: {msg}"));
            if e.line() > 0 {
                d = d.at(e.line(), e.column());
            }
            errs.push(d);
            None
        }
    }
}

/// A value inside a document, together with its JSON pointer.
#[derive(Clone)]
pub(super) struct Node<'a> {
    pub(super) doc: &'a Doc,
    pub(super) v: &'a Value,
    pub(super) ptr: String,
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl<'a> Node<'a> {
    pub(super) fn diag(&self, message: impl Into<String>) -> Diagnostic {
        self.doc.diag(&self.ptr, message)
    }

    pub(super) fn field_ptr(&self, key: &str) -> String {
        format!("{}/{}", self.ptr, escape(key))
    }

    pub(super) fn field_diag(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        self.doc.diag(&self.field_ptr(key), message)
    }

    pub(super) fn get(&self, key: &str) -> Option<Node<'a>> {
        self.v.get(key).map(|v| Node { doc: self.doc, v, ptr: self.field_ptr(key) })
    }

    pub(super) fn req(&self, key: &str, errs: &mut Vec<Diagnostic>) -> Option<Node<'a>> {
        let n = self.get(key);
        if n.is_none() && self.v.is_object() {
            errs.push(self.field_diag(key, format!("missing required field `{key}`")));
        }
        n
    }

    pub(super) fn object(&self, errs: &mut Vec<Diagnostic>) -> bool {
        if self.v.is_object() {
            true
        } else {
            errs.push(self.diag(format!("expected an object, found {}", kind(self.v))));
            false
        }
    }

    /// Reports every key not in `allowed` (OCF objects allow no other keys).
    pub(super) fn only(&self, allowed: &[&str], errs: &mut Vec<Diagnostic>) {
        if let Some(m) = self.v.as_object() {
            for k in m.keys() {
                if !allowed.contains(&k.as_str()) {
                    errs.push(self.field_diag(k, format!("unknown field `{k}`; allowed here: {}", allowed.join(", "))));
                }
            }
        }
    }

    pub(super) fn str(&self, errs: &mut Vec<Diagnostic>) -> Option<&'a str> {
        let s = self.v.as_str();
        if s.is_none() {
            errs.push(self.diag(format!("expected a string, found {}", kind(self.v))));
        }
        s
    }

    /// A non-empty string, as ids must be.
    pub(super) fn id(&self, errs: &mut Vec<Diagnostic>) -> Option<&'a str> {
        let s = self.str(errs)?;
        if s.is_empty() {
            errs.push(self.diag("an id must not be empty"));
            return None;
        }
        Some(s)
    }

    pub(super) fn array(&self, errs: &mut Vec<Diagnostic>) -> Option<Vec<Node<'a>>> {
        match self.v.as_array() {
            Some(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Node { doc: self.doc, v, ptr: format!("{}/{i}", self.ptr) })
                    .collect(),
            ),
            None => {
                errs.push(self.diag(format!("expected an array, found {}", kind(self.v))));
                None
            }
        }
    }

    pub(super) fn uint(&self, errs: &mut Vec<Diagnostic>) -> Option<u32> {
        let n = self.v.as_u64().and_then(|n| u32::try_from(n).ok());
        if n.is_none() {
            errs.push(self.diag(format!("expected a whole number from 0 to {}, found {}", u32::MAX, self.v)));
        }
        n
    }

    pub(super) fn boolean(&self, errs: &mut Vec<Diagnostic>) -> Option<bool> {
        let b = self.v.as_bool();
        if b.is_none() {
            errs.push(self.diag(format!("expected true or false, found {}", kind(self.v))));
        }
        b
    }

    pub(super) fn date(&self, errs: &mut Vec<Diagnostic>) -> Option<Date> {
        let s = self.str(errs)?;
        let d = parse_date(s);
        if d.is_none() {
            errs.push(self.diag(format!("`{s}` is not a date of the form YYYY-MM-DD")));
        }
        d
    }

    pub(super) fn numeric(&self, errs: &mut Vec<Diagnostic>) -> Option<Numeric<'a>> {
        let Some(s) = self.v.as_str() else {
            let msg = if self.v.is_number() {
                format!("OCF numbers are strings: write \"{}\"", self.v)
            } else {
                format!("expected a number as a string, found {}", kind(self.v))
            };
            errs.push(self.diag(msg));
            return None;
        };
        let n = Numeric::parse(s);
        if n.is_none() {
            errs.push(
                self.diag(format!("`{s}` is not an OCF number (digits, optionally a point and at most 10 decimals)")),
            );
        }
        n
    }

    /// A non-negative OCF number as an exact fraction.
    pub(super) fn ratio(&self, what: &str, errs: &mut Vec<Diagnostic>) -> Option<Ratio> {
        let n = self.numeric(errs)?;
        if n.is_negative() {
            errs.push(self.diag(format!("{what} must not be negative")));
            return None;
        }
        let r = n.ratio();
        if r.is_none() {
            errs.push(self.diag(format!("{what} has too many digits")));
        }
        r
    }

    pub(super) fn req_str(&self, key: &str, errs: &mut Vec<Diagnostic>) -> Option<&'a str> {
        self.req(key, errs)?.str(errs)
    }

    pub(super) fn req_id(&self, key: &str, errs: &mut Vec<Diagnostic>) -> Option<&'a str> {
        self.req(key, errs)?.id(errs)
    }

    pub(super) fn req_date(&self, key: &str, errs: &mut Vec<Diagnostic>) -> Option<Date> {
        self.req(key, errs)?.date(errs)
    }
}

/// Parses a strict ISO 8601 calendar date (`YYYY-MM-DD`).
pub(super) fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shape {
        return None;
    }
    let y: i16 = s.get(0..4)?.parse().ok()?;
    let m: i8 = s.get(5..7)?.parse().ok()?;
    let d: i8 = s.get(8..10)?.parse().ok()?;
    Date::new(y, m, d).ok()
}

/// The position of `pointer` in `text`, or of the deepest part of it that exists. The text
/// must be valid JSON.
pub(super) fn locate(text: &str, pointer: &str) -> usize {
    let b = text.as_bytes();
    let mut pos = skip_ws(b, 0);
    if pointer.is_empty() {
        return pos;
    }
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        match b.get(pos) {
            Some(b'{') => {
                let mut i = skip_ws(b, pos + 1);
                let mut found = None;
                while b.get(i) == Some(&b'"') {
                    let end = string_end(b, i);
                    let key: Option<String> = text.get(i..end).and_then(|k| serde_json::from_str(k).ok());
                    i = skip_ws(b, end); // at ':'
                    i = skip_ws(b, i + 1);
                    if key.as_deref() == Some(token.as_str()) {
                        found = Some(i);
                        break;
                    }
                    i = skip_ws(b, skip_value(b, i));
                    if b.get(i) == Some(&b',') {
                        i = skip_ws(b, i + 1);
                    }
                }
                match found {
                    Some(f) => pos = f,
                    None => return pos,
                }
            }
            Some(b'[') => {
                let Ok(n) = token.parse::<usize>() else {
                    return pos;
                };
                let mut i = skip_ws(b, pos + 1);
                if b.get(i) == Some(&b']') {
                    return pos;
                }
                for _ in 0..n {
                    i = skip_ws(b, skip_value(b, i));
                    if b.get(i) != Some(&b',') {
                        return pos;
                    }
                    i = skip_ws(b, i + 1);
                }
                pos = i;
            }
            _ => return pos,
        }
    }
    pos
}

pub(super) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// The index just past the string that starts at `i` (a quote).
pub(super) fn string_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while let Some(&c) = b.get(j) {
        match c {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// The index just past the value that starts at `i`.
pub(super) fn skip_value(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = b.get(j) {
                match c {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        _ => {
            let mut j = i;
            while b.get(j).is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace()) {
                j += 1;
            }
            j
        }
    }
}

// ---- exact numbers ------------------------------------------------------------------------

/// An OCF `Numeric`: `^[+-]?[0-9]+(\.[0-9]{1,10})?$`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Numeric<'a> {
    pub(super) negative: bool,
    pub(super) int: &'a str,
    pub(super) frac: &'a str,
}

impl<'a> Numeric<'a> {
    pub(super) fn parse(s: &'a str) -> Option<Numeric<'a>> {
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, s.get(1..)?),
            Some(b'+') => (false, s.get(1..)?),
            _ => (false, s),
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => {
                if !digits(f) || f.len() > 10 {
                    return None;
                }
                (i, f)
            }
            None => (body, ""),
        };
        if !digits(int) {
            return None;
        }
        Some(Numeric { negative, int, frac })
    }

    pub(super) fn is_negative(&self) -> bool {
        self.negative && self.int.bytes().chain(self.frac.bytes()).any(|c| c != b'0')
    }

    pub(super) fn significant_frac(&self) -> &'a str {
        self.frac.trim_end_matches('0')
    }

    /// The value without sign, trailing zeros or `+`: what [`Token::parse`] accepts.
    pub(super) fn canonical(&self) -> String {
        let f = self.significant_frac();
        if f.is_empty() { self.int.to_owned() } else { format!("{}.{f}", self.int) }
    }

    /// The magnitude as an exact fraction.
    pub(super) fn ratio(&self) -> Option<Ratio> {
        let f = self.significant_frac();
        let mut n: u128 = 0;
        for c in self.int.bytes().chain(f.bytes()) {
            n = n.checked_mul(10)?.checked_add(u128::from(c - b'0'))?;
        }
        let d = 10u128.checked_pow(u32::try_from(f.len()).ok()?)?;
        Ratio::new(n, d)
    }
}

pub(super) fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A non-negative fraction in lowest terms. Every operation is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ratio {
    pub(super) n: u128,
    pub(super) d: u128,
}

impl Ratio {
    pub(super) const ZERO: Ratio = Ratio { n: 0, d: 1 };
    pub(super) const ONE: Ratio = Ratio { n: 1, d: 1 };

    pub(super) fn new(n: u128, d: u128) -> Option<Ratio> {
        if d == 0 {
            return None;
        }
        let g = gcd(n, d);
        Some(Ratio { n: n / g, d: d / g })
    }

    pub(super) fn int(n: u128) -> Ratio {
        Ratio { n, d: 1 }
    }

    pub(super) fn is_zero(self) -> bool {
        self.n == 0
    }

    pub(super) fn add(self, o: Ratio) -> Option<Ratio> {
        let g = gcd(self.d, o.d);
        let d = (self.d / g).checked_mul(o.d)?;
        let n = self.n.checked_mul(o.d / g)?.checked_add(o.n.checked_mul(self.d / g)?)?;
        Ratio::new(n, d)
    }

    /// `self - o`, or `None` when it would be negative (or overflow).
    pub(super) fn sub(self, o: Ratio) -> Option<Ratio> {
        let g = gcd(self.d, o.d);
        let d = (self.d / g).checked_mul(o.d)?;
        let n = self.n.checked_mul(o.d / g)?.checked_sub(o.n.checked_mul(self.d / g)?)?;
        Ratio::new(n, d)
    }

    pub(super) fn mul(self, o: Ratio) -> Option<Ratio> {
        let g1 = gcd(self.n, o.d).max(1);
        let g2 = gcd(o.n, self.d).max(1);
        Ratio::new((self.n / g1).checked_mul(o.n / g2)?, (self.d / g2).checked_mul(o.d / g1)?)
    }

    pub(super) fn div(self, o: Ratio) -> Option<Ratio> {
        if o.n == 0 {
            return None;
        }
        self.mul(Ratio { n: o.d, d: o.n })
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.d == 1 { write!(f, "{}", self.n) } else { write!(f, "{}/{}", self.n, self.d) }
    }
}
