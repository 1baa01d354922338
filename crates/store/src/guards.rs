//! The append-only triggers, checked as they stand in the database: a trigger dropped, disabled,
//! given a condition or pointed at a function that no longer refuses is reported, so
//! `verify-ledger` does not call a ledger safe whose guard an operator has quietly removed.

use crate::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, StoreError};

/// The `CREATE TRIGGER` statements of the SQLite migrations, as SQLite keeps their text in
/// `sqlite_master` (without the final `;`), by trigger name.
fn sqlite_expected() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, _, sql) in SQLITE_MIGRATIONS {
        for line in sql.lines().filter(|l| l.starts_with("CREATE TRIGGER ")) {
            let statement = line.trim_end().trim_end_matches(';').to_owned();
            if let Some(name) = statement.split_whitespace().nth(2) {
                out.push((name.to_owned(), statement));
            }
        }
    }
    out
}

pub(crate) fn sqlite(conn: &rusqlite::Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")?;
    let found: Vec<(String, String)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut problems = Vec::new();
    for (name, statement) in sqlite_expected() {
        match found.iter().find(|(n, _)| *n == name) {
            None => problems.push(format!("the append-only trigger `{name}` is missing")),
            Some((_, sql)) if *sql != statement => {
                problems.push(format!("the append-only trigger `{name}` was altered: {sql}"))
            }
            Some(_) => {}
        }
    }
    Ok(problems)
}

/// PostgreSQL trigger type bits (`pg_trigger.tgtype`).
const ROW: i16 = 1;
const BEFORE: i16 = 2;
const DELETE: i16 = 8;
const UPDATE: i16 = 16;
const TRUNCATE: i16 = 32;

/// The body of `events_append_only()` as the first migration defines it.
fn postgres_function_body() -> Option<&'static str> {
    let sql = POSTGRES_MIGRATIONS.first()?.2;
    let start = sql.find("AS $$")? + "AS $$".len();
    let end = start + sql[start..].find("$$")?;
    Some(sql[start..end].trim())
}

pub(crate) fn postgres(client: &mut postgres::Client) -> Result<Vec<String>, StoreError> {
    let rows = client.query(
        "SELECT t.tgname::text, t.tgtype, t.tgenabled::text, t.tgqual IS NULL, p.proname::text, p.prosrc \
         FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid \
         WHERE t.tgrelid = 'events'::regclass AND NOT t.tgisinternal",
        &[],
    )?;
    let body = postgres_function_body();
    let mut problems = Vec::new();
    for (name, tgtype) in
        [("events_no_update", ROW | BEFORE | DELETE | UPDATE), ("events_no_truncate", BEFORE | TRUNCATE)]
    {
        let Some(r) = rows.iter().find(|r| r.get::<_, String>(0) == name) else {
            problems.push(format!("the append-only trigger `{name}` is missing"));
            continue;
        };
        let (kind, enabled, unconditional): (i16, String, bool) = (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        let (function, source): (String, String) = (r.try_get(4)?, r.try_get(5)?);
        // `O` fires in every session with the default replication role; `D` never fires.
        if enabled != "O" && enabled != "A" {
            problems.push(format!("the append-only trigger `{name}` is disabled (tgenabled = {enabled})"));
        }
        if kind != tgtype || !unconditional {
            problems.push(format!(
                "the append-only trigger `{name}` was altered (type {kind}, conditional: {})",
                !unconditional
            ));
        }
        if function != "events_append_only" || Some(source.trim()) != body {
            problems.push(format!("the append-only trigger `{name}` calls `{function}`, which no longer only refuses"));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_expected_triggers_are_read_from_the_migrations() {
        let names: Vec<String> = super::sqlite_expected().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["events_no_update", "events_no_delete"]);
        assert_eq!(
            super::postgres_function_body(),
            Some("BEGIN\n    RAISE EXCEPTION 'the ledger is append-only';\nEND;")
        );
    }
}
