//! Germany's rules file (`rules/de.toml`, embedded at build time): the constants of the wage-tax
//! programme (PAP) and of social insurance per calendar year, parsed as TOML and handed out one
//! year at a time as a [`At`] node, so the typed reader in `tokencomp_compliance::de` names every
//! missing constant by its dotted path (`de.2027.tariff.basic_allowance`).

use crate::rule_node::At;

/// A parsed German rules file.
#[derive(Clone, Debug, PartialEq)]
pub struct DeRulesFile {
    table: toml::Table,
}

impl DeRulesFile {
    /// Parses a file in the shape of `rules/de.toml`; the error is the TOML parser's message.
    pub fn parse(text: &str) -> Result<DeRulesFile, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        Ok(DeRulesFile { table })
    }

    /// The German part of a rules tree (the other jurisdictions are not copied).
    pub fn from_table(tree: &toml::Table) -> DeRulesFile {
        let mut table = toml::Table::new();
        if let Some(de) = tree.get("de") {
            table.insert("de".to_owned(), de.clone());
        }
        DeRulesFile { table }
    }

    /// The `[de.<year>]` tree; a year not in the file is a node whose constants all read as
    /// missing.
    pub fn year(&self, year: i16) -> At<'_> {
        let table = match self.table.get("de").and_then(|de| de.get(year.to_string())) {
            Some(toml::Value::Table(t)) => Some(t),
            _ => None,
        };
        At::root(format!("de.{year}"), table)
    }

    /// The years the file holds, ascending.
    pub fn years(&self) -> Vec<i16> {
        let Some(toml::Value::Table(de)) = self.table.get("de") else { return Vec::new() };
        let mut years: Vec<i16> = de.keys().filter_map(|k| k.parse().ok()).collect();
        years.sort_unstable();
        years
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule_node::Problems;

    #[test]
    fn the_shipped_file_parses_and_holds_2025_and_2026() {
        let file = DeRulesFile::parse(include_str!("../rules/de.toml")).expect("rules/de.toml parses");
        assert_eq!(file.years(), [2025, 2026]);
        let mut p = Problems::default();
        let tariff = file.year(2026).child("tariff", &mut p);
        assert_eq!(tariff.amount("basic_allowance", &mut p).to_string(), "12348");
        assert!(p.is_empty());
        let _ = file.year(2027).child("tariff", &mut p).amount("basic_allowance", &mut p);
        assert_eq!(p.missing().collect::<Vec<_>>(), ["de.2027.tariff.basic_allowance"]);
    }
}
