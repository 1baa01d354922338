-- TRUNCATE fires no row triggers, so 0001 let it empty the ledger: refuse it as well.
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
