-- liveCalls(after:) resumes "in commit order": a cursor must say which calls a client has seen, and neither a
-- timestamp nor an id can, because a transaction that started earlier may commit later (its rows carry an
-- earlier ended_at/created_at than rows already delivered). Logical decoding is not available (wal_level is
-- replica), so each call records the transaction that wrote it, and a cursor is a snapshot (pg_snapshot):
-- the calls a client has seen are exactly those whose writer is visible in its snapshot. The next batch is the
-- calls whose writer is visible in a newer snapshot but not in the cursor's.
--
-- The column is added without a default first, then given one: a volatile default on ADD COLUMN would rewrite
-- every existing row. Calls written before this migration keep NULL, which reads as "visible to every cursor".
ALTER TABLE calls ADD COLUMN writer_xid xid8;
ALTER TABLE calls ALTER COLUMN writer_xid SET DEFAULT pg_current_xact_id();

-- A cursor's batch reads the calls written at or after its snapshot's xmin (everything older is visible to it).
CREATE INDEX calls_tenant_writer ON calls (tenant_id, writer_xid) WHERE writer_xid IS NOT NULL;
