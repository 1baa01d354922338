//! The spanned TOML tree the company file is read through: typed getters that report a
//! problem at its line, column and field path.

use super::*;

pub(super) type Val<'i> = Spanned<DeValue<'i>>;

pub(super) struct Tbl<'t, 'i> {
    pub(super) t: &'t DeTable<'i>,
    pub(super) span: Range<usize>,
    pub(super) path: String,
}

impl<'t, 'i> Tbl<'t, 'i> {
    pub(super) fn field(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'t Val<'i>> {
        self.t.get(key)
    }

    /// Reports keys this table does not know.
    pub(super) fn allow(&self, cx: &mut Cx<'_>, known: &[&str]) {
        for (k, _) in self.t.iter() {
            if !known.contains(&k.get_ref().as_ref()) {
                let msg = format!("unknown field `{}`; expected one of: {}", k.get_ref(), known.join(", "));
                cx.err(&self.field(k.get_ref()), k.span(), msg);
            }
        }
    }

    pub(super) fn missing(&self, cx: &mut Cx<'_>, key: &str) {
        let where_ = if self.path.is_empty() { "the file".to_owned() } else { format!("`{}`", self.path) };
        cx.err(&self.field(key), self.span.clone(), format!("missing field `{key}` in {where_}"));
    }

    /// The value under `key`; a missing required one is reported.
    pub(super) fn value(&self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<&'t Val<'i>> {
        let v = self.get(key);
        if v.is_none() && required {
            self.missing(cx, key);
        }
        v
    }

    pub(super) fn table(&self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<Tbl<'t, 'i>> {
        match self.get(key) {
            None => {
                if required {
                    self.missing(cx, key);
                }
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::Table(t) => Some(Tbl { t, span: v.span(), path: self.field(key) }),
                other => {
                    cx.err(&self.field(key), v.span(), format!("expected a table, found {}", other.type_str()));
                    None
                }
            },
        }
    }

    pub(super) fn array_of_tables(&self, cx: &mut Cx<'_>, key: &str) -> Vec<Tbl<'t, 'i>> {
        let Some(v) = self.get(key) else { return Vec::new() };
        let DeValue::Array(items) = v.get_ref() else {
            cx.err(&self.field(key), v.span(), format!("expected an array of tables ([[{key}]])"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(t) => out.push(Tbl { t, span: item.span(), path: format!("{}[{i}]", self.field(key)) }),
                other => cx.err(
                    &format!("{}[{i}]", self.field(key)),
                    item.span(),
                    format!("expected a table, found {}", other.type_str()),
                ),
            }
        }
        out
    }

    pub(super) fn str(&self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<(&'t str, Range<usize>)> {
        match self.get(key) {
            None => {
                if required {
                    self.missing(cx, key);
                }
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) => Some((s.as_ref(), v.span())),
                other => {
                    cx.err(&self.field(key), v.span(), format!("expected a string, found {}", other.type_str()));
                    None
                }
            },
        }
    }

    pub(super) fn string(&self, cx: &mut Cx<'_>, key: &str) -> Option<String> {
        let (s, span) = self.str(cx, key, true)?;
        if s.trim().is_empty() {
            cx.err(&self.field(key), span, format!("`{key}` must not be empty"));
            return None;
        }
        Some(s.to_owned())
    }

    pub(super) fn opt_string(&self, cx: &mut Cx<'_>, key: &str) -> Option<String> {
        self.str(cx, key, false).map(|(s, _)| s.to_owned())
    }

    pub(super) fn int(&self, cx: &mut Cx<'_>, key: &str, required: bool, range: Range<i64>) -> Option<i64> {
        let v = self.value(cx, key, required)?;
        let parsed =
            v.get_ref().as_integer().and_then(|i| i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok());
        match parsed {
            Some(n) if range.contains(&n) => Some(n),
            Some(n) => {
                let msg = format!("{n} is out of range: `{key}` must be {} to {}", range.start, range.end - 1);
                cx.err(&self.field(key), v.span(), msg);
                None
            }
            None => {
                cx.err(&self.field(key), v.span(), format!("expected an integer, found {}", v.get_ref().type_str()));
                None
            }
        }
    }

    pub(super) fn u32(&self, cx: &mut Cx<'_>, key: &str, required: bool, range: Range<i64>) -> Option<u32> {
        self.int(cx, key, required, range).and_then(|n| u32::try_from(n).ok())
    }

    /// A calendar date: a TOML local date or a `YYYY-MM-DD` string, within the engine's range.
    pub(super) fn date(&self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<Date> {
        let v = self.value(cx, key, required)?;
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
            other => {
                cx.err(&self.field(key), v.span(), format!("expected a date (YYYY-MM-DD), found {}", other.type_str()));
                return None;
            }
        };
        match Date::from_str(&text) {
            Ok(d) if check_date(d).is_ok() => Some(d),
            Ok(d) => {
                cx.err(&self.field(key), v.span(), format!("date {d} is outside 1970-01-01 to 2199-12-31"));
                None
            }
            Err(_) => {
                cx.err(&self.field(key), v.span(), format!("`{text}` is not a date (YYYY-MM-DD)"));
                None
            }
        }
    }

    /// An instant: an RFC 3339 timestamp, or a date meaning 00:00 of that day in `tz`.
    pub(super) fn instant(&self, cx: &mut Cx<'_>, key: &str, required: bool, tz: &TimeZone) -> Option<Instant> {
        let v = self.value(cx, key, required)?;
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Datetime(d) => d.to_string(),
            other => {
                cx.err(
                    &self.field(key),
                    v.span(),
                    format!("expected a date or an RFC 3339 time, found {}", other.type_str()),
                );
                return None;
            }
        };
        if let Ok(d) = Date::from_str(&text) {
            if check_date(d).is_ok()
                && let Ok(t) = calendar::start_of_day(d, tz)
            {
                return Some(t);
            }
        } else if let Ok(ts) = jiff::Timestamp::from_str(&text) {
            return Some(ts.as_second());
        }
        cx.err(&self.field(key), v.span(), format!("`{text}` is not a date or an RFC 3339 time within 1970 to 2199"));
        None
    }

    /// An amount of money or tokens that is not negative: a string (`"185000.50"`) or an integer.
    pub(super) fn quantity(&self, cx: &mut Cx<'_>, key: &str) -> Option<Decimal> {
        let v = self.get(key)?;
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(i) if i.radix() == 10 => i.as_str().replace('_', ""),
            other => {
                let msg = format!("expected a decimal number as a string (e.g. \"2.50\"), found {}", other.type_str());
                cx.err(&self.field(key), v.span(), msg);
                return None;
            }
        };
        match Decimal::from_str_exact(text.trim()) {
            Ok(d) if !d.is_sign_negative() => Some(d),
            _ => {
                cx.err(&self.field(key), v.span(), format!("`{text}` is not a non-negative decimal number"));
                None
            }
        }
    }

    pub(super) fn bool(&self, cx: &mut Cx<'_>, key: &str) -> Option<bool> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                cx.err(&self.field(key), v.span(), format!("expected true or false, found {}", other.type_str()));
                None
            }
        }
    }

    /// The span of `key`'s value, or of the table when it has none.
    pub(super) fn span_of(&self, key: &str) -> Range<usize> {
        self.get(key).map_or(self.span.clone(), |v| v.span())
    }

    pub(super) fn decimal(&self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<Decimal> {
        let (s, span) = self.str(cx, key, required)?;
        match Decimal::from_str_exact(s.trim()) {
            Ok(d) if !d.is_sign_negative() => Some(d),
            _ => {
                cx.err(
                    &self.field(key),
                    span,
                    format!("`{s}` is not a non-negative decimal number (write it as a string, e.g. \"2.50\")"),
                );
                None
            }
        }
    }

    /// A percentage such as `"50"`, `"12.5"` or `"0.25%"` (at most two decimals), as basis points.
    pub(super) fn percent_bps(&self, cx: &mut Cx<'_>, key: &str, required: bool, max_bps: u32) -> Option<u32> {
        let v = self.get(key);
        let (text, span) = match v.map(|v| (v.get_ref(), v.span())) {
            None => {
                if required {
                    self.missing(cx, key);
                }
                return None;
            }
            Some((DeValue::String(s), span)) => (s.to_string(), span),
            Some((DeValue::Integer(i), span)) => (i.as_str().to_owned(), span),
            Some((other, span)) => {
                cx.err(
                    &self.field(key),
                    span,
                    format!("expected a percentage such as \"50\" or \"12.5\", found {}", other.type_str()),
                );
                return None;
            }
        };
        // `"0.25%"` reads as `"0.25"`: policy rates are usually written with the sign.
        match percent_to_bps(text.strip_suffix('%').unwrap_or(&text)) {
            Some(b) if b <= max_bps => Some(b),
            _ => {
                let max = Decimal::from(max_bps) / Decimal::from(100);
                cx.err(
                    &self.field(key),
                    span,
                    format!("`{text}` is not a percentage from 0 to {max} with at most two decimals"),
                );
                None
            }
        }
    }

    pub(super) fn amount(&self, cx: &mut Cx<'_>, key: &str, required: bool, token: &Token) -> Option<TokenAmount> {
        let v = self.get(key);
        let (text, span) = match v.map(|v| (v.get_ref(), v.span())) {
            None => {
                if required {
                    self.missing(cx, key);
                }
                return None;
            }
            Some((DeValue::String(s), span)) => (s.to_string(), span),
            Some((DeValue::Integer(i), span)) if i.radix() == 10 => (i.as_str().replace('_', ""), span),
            Some((other, span)) => {
                cx.err(
                    &self.field(key),
                    span,
                    format!("expected an amount of {} as a string, found {}", token.symbol(), other.type_str()),
                );
                return None;
            }
        };
        match token.parse(&text) {
            Ok(a) => Some(a),
            Err(e) => {
                cx.err(&self.field(key), span, e.to_string());
                None
            }
        }
    }

    /// An optional choice with no default: `None` when the key is absent or its value refused.
    pub(super) fn opt_choice<T: Copy>(&self, cx: &mut Cx<'_>, key: &str, options: &[(&str, T)]) -> Option<T> {
        self.get(key)?;
        self.choice(cx, key, options, None)
    }

    pub(super) fn choice<T: Copy>(
        &self,
        cx: &mut Cx<'_>,
        key: &str,
        options: &[(&str, T)],
        default: Option<T>,
    ) -> Option<T> {
        let Some((s, span)) = self.str(cx, key, default.is_none()) else { return default };
        match options.iter().find(|o| o.0 == s) {
            Some(o) => Some(o.1),
            None => {
                let names: Vec<&str> = options.iter().map(|o| o.0).collect();
                cx.err(&self.field(key), span, format!("`{s}` is not one of: {}", names.join(", ")));
                None
            }
        }
    }
}
