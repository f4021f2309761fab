-- The ingestion fast path: the same rollups and the same referential guarantees, for less work and less waiting.
--
-- 1. Rollup deltas are staged per statement and folded in once per transaction, at commit (deferred constraint
--    trigger). Concurrent batches of a tenant all upsert the same hot rollup rows; applied per statement, the
--    first upsert held those row locks for the rest of the transaction and serialized the batches.
-- 2. The rollup trigger runs static SQL. 0005's rollup_trigger() built its statements as text on every firing
--    (format() over the contribution queries, then EXECUTE: parse and plan a ~5 KB statement each time), which
--    cost more than applying a 1,000-event batch. The replacement embeds, per table and operation, the text
--    generated from the same contribution queries (rollup_contributions_sql, funnel_apply_sql) — one
--    definition still serves triggers and rebuilds — as static statements, which PL/pgSQL plans once per
--    trigger and session and then reuses.
-- 3. Groups whose deltas are all zero are not upserted: an UPDATE that leaves a row's contribution where it was
--    (a lead changing stage still counts as generated on its day) no longer rewrites hot rollup rows. Rebuilds
--    skip all-zero rows too; `rollups check` ignores zero counters either way.
-- 4. calls' foreign keys become statement-level checks. Each call row cost four per-row RI probes (tenant,
--    agent, lead, campaign), each taking a KEY SHARE lock on a parent row that every concurrent batch locks
--    too (multixacts). The triggers below keep the guarantee for every writer — the ingestion API, the
--    seeder's COPY, the platform's own SQL — with one set-based probe per parent table and statement: a call
--    must reference existing rows of its tenant, locked against deletion until commit as a foreign key would,
--    and a referenced tenant, agent, lead or campaign cannot be deleted or re-keyed while calls point at it.

-- (3) One upsert into a counter table: sums grouped by its key, added to what is stored, all-zero groups skipped.
CREATE OR REPLACE FUNCTION rollup_upsert_sql(target text, key_columns text[], key_exprs text[], conflict text,
                                             filter text, counters text[]) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$
SELECT format(
    'INSERT INTO %1$I (tenant_id, %2$s, %3$s) '
    'SELECT c.tenant_id, %4$s, %5$s FROM c WHERE %6$s GROUP BY c.tenant_id, %4$s HAVING %9$s '
    'ORDER BY c.tenant_id, %4$s '
    'ON CONFLICT %7$s DO UPDATE SET %8$s, updated_at = now()',
    target,
    array_to_string(key_columns, ', '),
    (SELECT string_agg(format('%I', n), ', ') FROM unnest(counters) AS n),
    array_to_string(key_exprs, ', '),
    (SELECT string_agg(format('sum(c.%I)', n), ', ') FROM unnest(counters) AS n),
    filter,
    conflict,
    (SELECT string_agg(format('%1$I = %2$I.%1$I + EXCLUDED.%1$I', n, target), ', ') FROM unnest(counters) AS n),
    (SELECT string_agg(format('sum(c.%I) <> 0', n), ' OR ') FROM unnest(counters) AS n))
$$;

-- (1) Pending deltas. Every writer of a tenant's day upserts the same few rollup rows (daily_reports, the
-- campaigns' and agents' days), so whoever upserts first holds those row locks until it commits and concurrent
-- batches queue behind it for the rest of its work. The statement triggers therefore only stage their deltas,
-- pre-aggregated, in rollup_pending (and rollup_funnel_pending); one deferred constraint trigger per
-- transaction folds them into the rollups at commit, still inside the transaction. The hot rows are then locked
-- for the flush and the commit alone, and each rollup row is written once per transaction instead of once per
-- statement. Unlogged: the rows live for one transaction, and a crash discards their transaction anyway.
CREATE UNLOGGED TABLE rollup_pending (
    txid        xid8 NOT NULL,
    tenant_id   uuid NOT NULL,
    timezone    text NOT NULL,
    local_day   date NOT NULL,
    bucket      timestamptz,      -- NULL for day-level contributions (spend)
    agent_id    uuid,
    campaign_id uuid,
    ts_min      timestamptz,
    ts_max      timestamptz
);
CREATE INDEX rollup_pending_txid ON rollup_pending (txid);

CREATE UNLOGGED TABLE rollup_funnel_pending (
    txid        xid8 NOT NULL,
    tenant_id   uuid NOT NULL,
    campaign_id uuid,
    stage       text NOT NULL,
    local_day   date NOT NULL,
    k           integer,
    entered     bigint NOT NULL,
    exited      bigint NOT NULL,
    advanced    bigint NOT NULL,
    lost        bigint NOT NULL,
    seconds     bigint NOT NULL
);
CREATE INDEX rollup_funnel_pending_txid ON rollup_funnel_pending (txid);

-- One row per transaction (and tenant) with pending deltas: its deferred trigger is the flush.
CREATE UNLOGGED TABLE rollup_flush_requests (
    txid      xid8 NOT NULL,
    tenant_id uuid NOT NULL,
    PRIMARY KEY (txid, tenant_id)
);

DO $$
DECLARE
    n text;
BEGIN
    -- Every counter any source feeds, summed: integers as bigint, money as numeric.
    FOREACH n IN ARRAY (SELECT array_agg(DISTINCT c) FROM unnest(ARRAY['calls', 'leads', 'lead_stage_history', 'tasks',
                        'agent_status_intervals', 'points_ledger', 'campaign_spend']) AS s,
                        unnest(rollup_counters(s)) AS c) LOOP
        EXECUTE format('ALTER TABLE rollup_pending ADD COLUMN %I %s NOT NULL DEFAULT 0', n,
                       CASE WHEN n IN ('call_cost', 'revenue', 'spend') THEN 'numeric' ELSE 'bigint' END);
    END LOOP;
END
$$;

SELECT callpulse_protect_table(t)
FROM unnest(ARRAY['rollup_pending', 'rollup_funnel_pending', 'rollup_flush_requests']::regclass[]) AS t;

-- The deltas a statement's rows (`relation`, signed) contribute to `source`'s counters, staged for the flush:
-- the contribution query of 0005, grouped by what the rollup keys and the change signal need.
CREATE FUNCTION rollup_stage_sql(source text, relation text) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$
SELECT format(
    'INSERT INTO rollup_pending (txid, tenant_id, timezone, local_day, bucket, agent_id, campaign_id, ts_min, '
    'ts_max, %2$s) '
    'SELECT pg_current_xact_id(), x.tenant_id, t.timezone, coalesce(x.day, (x.ts AT TIME ZONE t.timezone)::date), '
    'quarter_hour(x.ts), x.agent_id, x.campaign_id, min(x.ts), max(x.ts), %3$s '
    'FROM (%1$s) AS x JOIN tenants t ON t.id = x.tenant_id '
    'GROUP BY x.tenant_id, t.timezone, 4, 5, x.agent_id, x.campaign_id',
    format(rollup_contributions_sql(source), relation),
    (SELECT string_agg(format('%I', n), ', ') FROM unnest(rollup_counters(source)) AS n),
    (SELECT string_agg(format('sum(x.%I)', n), ', ') FROM unnest(rollup_counters(source)) AS n))
$$;

-- The funnel's staged deltas: 0005's funnel statement up to its per-bucket sums, kept instead of upserted.
CREATE FUNCTION funnel_stage_sql(relation text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    statement text := funnel_apply_sql(relation);
    cut integer := strpos(statement, 'INSERT INTO conversion_funnels');
BEGIN
    IF cut = 0 THEN
        RAISE EXCEPTION 'funnel_apply_sql() no longer ends in its conversion_funnels upsert';
    END IF;
    RETURN left(statement, cut - 1)
        || 'INSERT INTO rollup_funnel_pending (txid, tenant_id, campaign_id, stage, local_day, k, entered, exited, '
        || 'advanced, lost, seconds) SELECT pg_current_xact_id(), tenant_id, campaign_id, stage, local_day, k, '
        || 'entered, exited, advanced, lost, seconds FROM per_bucket';
END
$$;

-- The flush: this transaction's staged deltas, summed per rollup key, into the rollups (all-zero groups
-- skipped), and its change signal; then the funnel. Generated from the same pieces as rollup_apply_sql().
DO $migration$
DECLARE
    counters text[] := (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                        WHERE a.attrelid = 'rollup_pending'::regclass AND a.attnum > 9 AND NOT a.attisdropped);
    funnel text := funnel_apply_sql('(SELECT NULL)');
BEGIN
    funnel := substr(funnel, strpos(funnel, 'INSERT INTO conversion_funnels'));
    EXECUTE format($f$
CREATE FUNCTION rollup_flush() RETURNS trigger
    LANGUAGE plpgsql
    SET jit = off
AS %L
$f$, format($body$
#variable_conflict use_column
DECLARE
    signals bigint;
BEGIN
    DELETE FROM rollup_flush_requests WHERE txid = pg_current_xact_id();
    WITH c AS MATERIALIZED (DELETE FROM rollup_pending WHERE txid = pg_current_xact_id() RETURNING *),
    a AS (%1$s RETURNING 1),
    m AS (%2$s RETURNING 1),
    q AS (%3$s RETURNING 1),
    d AS (%4$s RETURNING 1),
    changed AS (
        SELECT s.tenant_id,
               least(s.ts_from, s.day_from::timestamp AT TIME ZONE s.timezone) AS span_from,
               greatest(s.ts_to, (s.day_to + 1)::timestamp AT TIME ZONE s.timezone) AS span_to
        FROM (SELECT c.tenant_id, min(c.timezone) AS timezone, min(c.ts_min) AS ts_from, max(c.ts_max) AS ts_to,
                     min(c.local_day) FILTER (WHERE c.bucket IS NULL) AS day_from,
                     max(c.local_day) FILTER (WHERE c.bucket IS NULL) AS day_to
              FROM c GROUP BY c.tenant_id) AS s
    ),
    agents AS (SELECT DISTINCT c.tenant_id, c.agent_id FROM c WHERE c.agent_id IS NOT NULL),
    campaigns AS (SELECT DISTINCT c.tenant_id, c.campaign_id FROM c WHERE c.campaign_id IS NOT NULL)
    SELECT count(rollup_signal(
        ch.tenant_id,
        ARRAY(SELECT a.agent_id FROM agents a WHERE a.tenant_id = ch.tenant_id),
        ARRAY(SELECT m.campaign_id FROM campaigns m WHERE m.tenant_id = ch.tenant_id),
        ch.span_from, ch.span_to))
    INTO signals FROM changed ch;
    WITH staged AS MATERIALIZED (DELETE FROM rollup_funnel_pending WHERE txid = pg_current_xact_id() RETURNING *),
    per_bucket AS (
        SELECT tenant_id, campaign_id, stage, local_day, k, sum(entered)::bigint AS entered,
               sum(exited)::bigint AS exited, sum(advanced)::bigint AS advanced, sum(lost)::bigint AS lost,
               sum(seconds)::bigint AS seconds
        FROM staged GROUP BY tenant_id, campaign_id, stage, local_day, k
    )
    %5$s;
    RETURN NULL;
END
$body$,
        rollup_upsert_sql('agent_metrics', ARRAY['agent_id', 'day'], ARRAY['c.agent_id', 'c.local_day'],
                          '(tenant_id, agent_id, day)', 'c.agent_id IS NOT NULL', counters),
        rollup_upsert_sql('campaign_metrics', ARRAY['campaign_id', 'day'], ARRAY['c.campaign_id', 'c.local_day'],
                          '(tenant_id, campaign_id, day)', 'c.campaign_id IS NOT NULL', counters),
        rollup_upsert_sql('metrics_15m', ARRAY['bucket', 'agent_id', 'campaign_id'],
                          ARRAY['c.bucket', 'c.agent_id', 'c.campaign_id'], 'ON CONSTRAINT metrics_15m_unique',
                          'c.bucket IS NOT NULL', counters),
        rollup_upsert_sql('daily_reports', ARRAY['day'], ARRAY['c.local_day'], '(tenant_id, day)', 'true', counters),
        funnel));
END
$migration$;

CREATE CONSTRAINT TRIGGER rollup_flush AFTER INSERT ON rollup_flush_requests
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rollup_flush();

-- (2) The one trigger function of every raw table, rewritten: static statements generated from the contribution
-- queries stage the statement's deltas. PL/pgSQL compiles a trigger function once per trigger, so each table's
-- branch is planned against its own transition tables, once per session.
DO $migration$
DECLARE
    sources text[] := ARRAY['calls', 'leads', 'lead_stage_history', 'tasks', 'agent_status_intervals',
                            'points_ledger', 'campaign_spend'];
    source text;
    op text;
    relation text;
    branches text := '';
BEGIN
    FOREACH source IN ARRAY sources LOOP
        branches := branches || format(E'    %s TG_TABLE_NAME = %L THEN\n',
                                       CASE WHEN branches = '' THEN 'IF' ELSE 'ELSIF' END, source);
        FOREACH op IN ARRAY ARRAY['INSERT', 'UPDATE', 'DELETE'] LOOP
            relation := CASE op
                WHEN 'INSERT' THEN '(SELECT 1 AS sign, * FROM new_rows)'
                WHEN 'DELETE' THEN '(SELECT -1 AS sign, * FROM old_rows)'
                ELSE '(SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1 AS sign, * FROM old_rows)'
            END;
            branches := branches || format(
                E'        %1$s TG_OP = %2$L THEN\n'
                 '            PERFORM pg_advisory_xact_lock_shared(rollup_lock_key(s.tenant_id))\n'
                 '            FROM (SELECT DISTINCT r.tenant_id FROM %3$s AS r) AS s;\n'
                 '            INSERT INTO rollup_flush_requests (txid, tenant_id)\n'
                 '            SELECT DISTINCT pg_current_xact_id(), r.tenant_id FROM %3$s AS r\n'
                 '            ON CONFLICT DO NOTHING;\n'
                 '%4$s;\n%5$s',
                CASE WHEN op = 'INSERT' THEN 'IF' ELSE 'ELSIF' END, op, relation,
                rollup_stage_sql(source, relation),
                CASE WHEN source = 'lead_stage_history' THEN funnel_stage_sql(relation) || E';\n' ELSE '' END);
        END LOOP;
        branches := branches || E'        END IF;\n';
    END LOOP;
    branches := branches || E'    END IF;\n';

    EXECUTE format($f$
CREATE OR REPLACE FUNCTION rollup_trigger() RETURNS trigger
    LANGUAGE plpgsql
    SET jit = off
AS %L
$f$, format($body$
BEGIN
    -- A bulk load on the maintenance path may defer to rollup_rebuild() (see 0005); only the owner can.
    IF current_setting('callpulse.defer_rollups', true) = 'on'
       AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RETURN NULL;
    END IF;
    -- Per table and operation: the shared tenant lock a rebuild waits for and the flush request (once per
    -- transaction and tenant), then the staged deltas (generated text).
%s
    RETURN NULL;
END
$body$, branches));
END
$migration$;

-- A rebuild recomputes from the raw rows, which already include this transaction's staged deltas for the
-- rebuilt days: those are dropped rather than added a second time at commit.
CREATE OR REPLACE FUNCTION rollup_rebuild(tenant uuid, from_day date DEFAULT NULL, to_day date DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    SET jit = off
AS $$
DECLARE
    lo date := coalesce(from_day, '-infinity'::date);
    hi date := coalesce(to_day, 'infinity'::date);
    tz text;
    source text;
BEGIN
    PERFORM pg_advisory_xact_lock(rollup_lock_key(tenant));
    SELECT timezone INTO STRICT tz FROM tenants WHERE id = tenant;
    DELETE FROM rollup_pending
    WHERE txid = pg_current_xact_id() AND tenant_id = tenant AND local_day BETWEEN lo AND hi;
    DELETE FROM rollup_funnel_pending
    WHERE txid = pg_current_xact_id() AND tenant_id = tenant AND local_day BETWEEN lo AND hi;
    DELETE FROM agent_metrics WHERE tenant_id = tenant AND day BETWEEN lo AND hi;
    DELETE FROM campaign_metrics WHERE tenant_id = tenant AND day BETWEEN lo AND hi;
    DELETE FROM daily_reports WHERE tenant_id = tenant AND day BETWEEN lo AND hi;
    DELETE FROM conversion_funnels WHERE tenant_id = tenant AND day BETWEEN lo AND hi;
    DELETE FROM metrics_15m WHERE tenant_id = tenant AND (bucket AT TIME ZONE tz)::date BETWEEN lo AND hi;
    FOREACH source IN ARRAY ARRAY['calls', 'leads', 'lead_stage_history', 'tasks', 'agent_status_intervals',
                                  'points_ledger', 'campaign_spend'] LOOP
        EXECUTE rollup_apply_sql(source, format('(SELECT 1 AS sign, * FROM %I WHERE tenant_id = %L)', source, tenant),
                                 lo, hi);
    END LOOP;
    EXECUTE funnel_apply_sql(format('(SELECT 1 AS sign, * FROM lead_stage_history WHERE tenant_id = %L)', tenant),
                             lo, hi);
END
$$;

-- (4) calls: foreign keys checked per statement instead of per row.
ALTER TABLE calls
    DROP CONSTRAINT calls_tenant_id_fkey,
    DROP CONSTRAINT calls_tenant_id_agent_id_fkey,
    DROP CONSTRAINT calls_tenant_id_lead_id_fkey,
    DROP CONSTRAINT calls_tenant_id_campaign_id_fkey;

-- Every reference of the statement's new call rows exists; the parents are locked (KEY SHARE, as a foreign key
-- does) before they are looked for, so a concurrent delete either waits for this transaction or wins first and
-- makes the check fail. Runs as the writer: a call can only reference rows of its own tenant, which the writer
-- sees under row-level security whenever it may write the call at all.
CREATE FUNCTION calls_check_references() RETURNS trigger
    LANGUAGE plpgsql
    SET jit = off
AS $$
DECLARE
    bad record;
BEGIN
    PERFORM 1 FROM tenants t WHERE t.id IN (SELECT n.tenant_id FROM new_rows n) ORDER BY t.id FOR KEY SHARE;
    PERFORM 1 FROM agents p WHERE (p.tenant_id, p.id) IN (SELECT n.tenant_id, n.agent_id FROM new_rows n)
        ORDER BY p.tenant_id, p.id FOR KEY SHARE;
    PERFORM 1 FROM leads p WHERE (p.tenant_id, p.id) IN (SELECT n.tenant_id, n.lead_id FROM new_rows n)
        ORDER BY p.tenant_id, p.id FOR KEY SHARE;
    PERFORM 1 FROM campaigns p WHERE (p.tenant_id, p.id) IN (SELECT n.tenant_id, n.campaign_id FROM new_rows n)
        ORDER BY p.tenant_id, p.id FOR KEY SHARE;
    SELECT x.* INTO bad FROM (
        SELECT 'tenants' AS parent, 'tenant_id' AS col, n.tenant_id::text AS ref FROM new_rows n
        WHERE NOT EXISTS (SELECT FROM tenants t WHERE t.id = n.tenant_id)
        UNION ALL
        SELECT 'agents', 'agent_id', n.agent_id::text FROM new_rows n
        WHERE n.agent_id IS NOT NULL
          AND NOT EXISTS (SELECT FROM agents p WHERE p.tenant_id = n.tenant_id AND p.id = n.agent_id)
        UNION ALL
        SELECT 'leads', 'lead_id', n.lead_id::text FROM new_rows n
        WHERE n.lead_id IS NOT NULL
          AND NOT EXISTS (SELECT FROM leads p WHERE p.tenant_id = n.tenant_id AND p.id = n.lead_id)
        UNION ALL
        SELECT 'campaigns', 'campaign_id', n.campaign_id::text FROM new_rows n
        WHERE n.campaign_id IS NOT NULL
          AND NOT EXISTS (SELECT FROM campaigns p WHERE p.tenant_id = n.tenant_id AND p.id = n.campaign_id)
    ) AS x LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "calls" violates its reference to "%"', bad.parent
            USING ERRCODE = 'foreign_key_violation', TABLE = 'calls', COLUMN = bad.col,
                  DETAIL = format('Key (%s)=(%s) is not present in table "%s" for the call''s tenant.',
                                  bad.col, bad.ref, bad.parent);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER calls_references_insert AFTER INSERT ON calls REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION calls_check_references();
CREATE TRIGGER calls_references_update AFTER UPDATE ON calls REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION calls_check_references();

-- A tenant, agent, lead or campaign that calls reference can be neither deleted nor given another key
-- (the NO ACTION of the foreign keys it replaces). Static statements per table, so leads' frequent updates
-- reuse one plan.
CREATE FUNCTION calls_referenced_keep() RETURNS trigger
    LANGUAGE plpgsql
    SET jit = off
AS $$
DECLARE
    gone text;
BEGIN
    IF TG_TABLE_NAME = 'tenants' THEN
        IF TG_OP = 'DELETE' THEN
            SELECT o.id::text INTO gone FROM old_rows o
            WHERE EXISTS (SELECT FROM calls c WHERE c.tenant_id = o.id) LIMIT 1;
        ELSE
            SELECT o.id::text INTO gone FROM old_rows o
            WHERE NOT EXISTS (SELECT FROM new_rows n WHERE n.id = o.id)
              AND EXISTS (SELECT FROM calls c WHERE c.tenant_id = o.id) LIMIT 1;
        END IF;
    ELSIF TG_TABLE_NAME = 'agents' THEN
        IF TG_OP = 'DELETE' THEN
            SELECT o.id::text INTO gone FROM old_rows o
            WHERE EXISTS (SELECT FROM calls c WHERE c.tenant_id = o.tenant_id AND c.agent_id = o.id) LIMIT 1;
        ELSE
            SELECT o.id::text INTO gone FROM old_rows o
            WHERE NOT EXISTS (SELECT FROM new_rows n WHERE n.tenant_id = o.tenant_id AND n.id = o.id)
              AND EXISTS (SELECT FROM calls c WHERE c.tenant_id = o.tenant_id AND c.agent_id = o.id) LIMIT 1;
        END IF;
    ELSIF TG_TABLE_NAME = 'leads' THEN
        IF TG_OP = 'DELETE' THEN
            SELECT o.id::text INTO gone FROM old_rows o
            WHERE EXISTS (SELECT FROM calls c WHERE c.tenant_id = o.tenant_id AND c.lead_id = o.id) LIMIT 1;
        ELSE
            SELECT o.id::text INTO gone FROM old_rows o
            WHERE NOT EXISTS (SELECT FROM new_rows n WHERE n.tenant_id = o.tenant_id AND n.id = o.id)
              AND EXISTS (SELECT FROM calls c WHERE c.tenant_id = o.tenant_id AND c.lead_id = o.id) LIMIT 1;
        END IF;
    ELSIF TG_TABLE_NAME = 'campaigns' THEN
        IF TG_OP = 'DELETE' THEN
            SELECT o.id::text INTO gone FROM old_rows o
            WHERE EXISTS (SELECT FROM calls c WHERE c.tenant_id = o.tenant_id AND c.campaign_id = o.id) LIMIT 1;
        ELSE
            SELECT o.id::text INTO gone FROM old_rows o
            WHERE NOT EXISTS (SELECT FROM new_rows n WHERE n.tenant_id = o.tenant_id AND n.id = o.id)
              AND EXISTS (SELECT FROM calls c WHERE c.tenant_id = o.tenant_id AND c.campaign_id = o.id) LIMIT 1;
        END IF;
    END IF;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION '% on table "%" would leave calls referencing a missing row', lower(TG_OP), TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
                  DETAIL = format('Key (id)=(%s) is still referenced from table "calls".', gone);
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    parent text;
BEGIN
    FOREACH parent IN ARRAY ARRAY['tenants', 'agents', 'leads', 'campaigns'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION calls_referenced_keep()',
                       parent || '_calls_keep_delete', parent);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION calls_referenced_keep()',
                       parent || '_calls_keep_update', parent);
    END LOOP;
END
$$;
