-- Occupancy over the agents whose presence is tracked.
--
-- Occupancy is handle time / available (signed-in) time. Only human agents have presence intervals: AI agents
-- take calls in parallel and are never busy or in wrap-up, so their handle time has no available time to be
-- divided by. Summed over a tenant, a team or a campaign, AI handle time inflated occupancy (and an AI agent's
-- own occupancy was handle time / 0). The rule: occupancy's numerator counts the handle time (talk + hold +
-- wrap-up) of calls whose agent is of kind 'human' — static, and known from the agent row — in a new counter,
-- tracked_handle_seconds. An AI agent's occupancy is therefore null (0 / 0), and the tenant's, a team's and a
-- campaign's occupancy is their human agents' handle time over their human agents' available time.
--
-- The counter is fed like every other one: by the calls contribution query (one set-based join to agents per
-- statement, not a lookup per row), in the triggers' staged deltas and in rollup_rebuild(), which share that
-- query. The kind is read when a call is written; an agent whose kind changes later has its calls' handle
-- time moved in or out of the counter by a trigger on agents, so incremental rollups and a rebuild agree.

ALTER TABLE agent_metrics ADD COLUMN tracked_handle_seconds bigint NOT NULL DEFAULT 0;
ALTER TABLE campaign_metrics ADD COLUMN tracked_handle_seconds bigint NOT NULL DEFAULT 0;
ALTER TABLE daily_reports ADD COLUMN tracked_handle_seconds bigint NOT NULL DEFAULT 0;
ALTER TABLE metrics_15m ADD COLUMN tracked_handle_seconds bigint NOT NULL DEFAULT 0;
-- The flush (0006) folds every rollup_pending column after the ninth into the rollups.
ALTER TABLE rollup_pending ADD COLUMN tracked_handle_seconds bigint NOT NULL DEFAULT 0;

-- 0005's contribution queries; only the calls branch changes (the agents join and the last column).
CREATE OR REPLACE FUNCTION rollup_contributions_sql(source text) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE source
WHEN 'calls' THEN $q$
SELECT r.tenant_id, r.started_at AS ts, NULL::date AS day, r.agent_id, r.campaign_id,
       r.sign AS calls_total,
       r.sign * (r.direction = 'inbound')::int AS calls_inbound,
       r.sign * (r.direction = 'outbound')::int AS calls_outbound,
       r.sign * (r.answered_at IS NOT NULL AND r.agent_id IS NOT NULL)::int AS calls_handled,
       r.sign * (r.direction = 'inbound' AND r.answered_at IS NOT NULL)::int AS inbound_answered,
       r.sign * (r.direction = 'inbound' AND r.answered_at IS NOT NULL
                 AND r.answered_at - r.started_at <= make_interval(secs => t.service_level_threshold_seconds))::int
           AS inbound_answered_within_sl,
       r.sign * (r.direction = 'inbound' AND r.abandoned)::int AS inbound_abandoned,
       r.sign * CASE WHEN r.direction = 'inbound' AND r.answered_at IS NOT NULL
                     THEN extract(epoch FROM r.answered_at - r.started_at)::bigint ELSE 0 END AS answer_wait_seconds,
       r.sign * r.talk_seconds::bigint AS talk_seconds,
       r.sign * r.hold_seconds::bigint AS hold_seconds,
       r.sign * r.wrap_up_seconds::bigint AS wrap_up_seconds,
       r.sign * r.transferred::int AS transfers,
       r.sign * (r.first_contact_resolution AND r.answered_at IS NOT NULL AND r.agent_id IS NOT NULL)::int
           AS first_contact_resolved,
       r.sign * (r.csat_rating IS NOT NULL)::int AS csat_count,
       r.sign * coalesce(r.csat_rating, 0)::int AS csat_sum,
       r.sign * (coalesce(r.csat_rating, 0) >= 4)::int AS csat_positive,
       r.sign * r.cost AS call_cost,
       r.sign * CASE WHEN g.kind = 'human'
                     THEN r.talk_seconds::bigint + r.hold_seconds + r.wrap_up_seconds ELSE 0 END
           AS tracked_handle_seconds
FROM %1$s AS r JOIN tenants t ON t.id = r.tenant_id
LEFT JOIN agents g ON g.tenant_id = r.tenant_id AND g.id = r.agent_id
$q$
WHEN 'leads' THEN $q$
SELECT r.tenant_id, r.created_at AS ts, NULL::date AS day, NULL::uuid AS agent_id, r.campaign_id,
       r.sign AS leads_generated
FROM %1$s AS r
$q$
WHEN 'lead_stage_history' THEN $q$
SELECT r.tenant_id, r.entered_at AS ts, NULL::date AS day, r.agent_id, l.campaign_id,
       0 AS leads_contacted, r.sign AS leads_converted, r.sign * coalesce(r.value, 0) AS revenue
FROM %1$s AS r JOIN leads l ON l.tenant_id = r.tenant_id AND l.id = r.lead_id
WHERE r.stage = 'won'
UNION ALL
SELECT r.tenant_id, r.exited_at, NULL, NULL, l.campaign_id, r.sign, 0, 0
FROM %1$s AS r JOIN leads l ON l.tenant_id = r.tenant_id AND l.id = r.lead_id
WHERE r.stage = 'new' AND r.next_stage IS NOT NULL AND r.next_stage <> 'lost'
$q$
WHEN 'tasks' THEN $q$
SELECT r.tenant_id, r.completed_at AS ts, NULL::date AS day, r.assignee_agent_id AS agent_id,
       NULL::uuid AS campaign_id, r.sign AS tasks_completed
FROM %1$s AS r
WHERE r.status = 'completed' AND r.assignee_agent_id IS NOT NULL
$q$
WHEN 'agent_status_intervals' THEN $q$
SELECT r.tenant_id, b.bucket AS ts, NULL::date AS day, r.agent_id, NULL::uuid AS campaign_id,
       r.sign * CASE WHEN r.status = 'available' THEN b.seconds ELSE 0 END AS available_seconds,
       r.sign * CASE WHEN r.status = 'busy' THEN b.seconds ELSE 0 END AS busy_seconds,
       r.sign * CASE WHEN r.status = 'wrap_up' THEN b.seconds ELSE 0 END AS wrap_up_state_seconds
FROM %1$s AS r
CROSS JOIN LATERAL (
    SELECT g AS bucket,
           extract(epoch FROM least(r.ended_at, g + interval '15 minutes') - greatest(r.started_at, g))::bigint
               AS seconds
    FROM generate_series(quarter_hour(r.started_at), r.ended_at - interval '1 microsecond',
                         interval '15 minutes') AS g
) AS b
WHERE r.status <> 'offline' AND r.ended_at IS NOT NULL AND r.ended_at > r.started_at
$q$
WHEN 'points_ledger' THEN $q$
SELECT r.tenant_id, r.awarded_at AS ts, NULL::date AS day, r.agent_id, NULL::uuid AS campaign_id,
       r.sign * r.points::bigint AS points
FROM %1$s AS r
$q$
WHEN 'campaign_spend' THEN $q$
SELECT r.tenant_id, NULL::timestamptz AS ts, r.day, NULL::uuid AS agent_id, r.campaign_id,
       r.sign * r.amount AS spend
FROM %1$s AS r
$q$
END $$;

CREATE OR REPLACE FUNCTION rollup_counters(source text) RETURNS text[]
    LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE source
    WHEN 'calls' THEN ARRAY['calls_total', 'calls_inbound', 'calls_outbound', 'calls_handled', 'inbound_answered',
                            'inbound_answered_within_sl', 'inbound_abandoned', 'answer_wait_seconds', 'talk_seconds',
                            'hold_seconds', 'wrap_up_seconds', 'transfers', 'first_contact_resolved', 'csat_count',
                            'csat_sum', 'csat_positive', 'call_cost', 'tracked_handle_seconds']
    WHEN 'leads' THEN ARRAY['leads_generated']
    WHEN 'lead_stage_history' THEN ARRAY['leads_contacted', 'leads_converted', 'revenue']
    WHEN 'tasks' THEN ARRAY['tasks_completed']
    WHEN 'agent_status_intervals' THEN ARRAY['available_seconds', 'busy_seconds', 'wrap_up_state_seconds']
    WHEN 'points_ledger' THEN ARRAY['points']
    WHEN 'campaign_spend' THEN ARRAY['spend']
END $$;

-- The flush and the trigger function embed text generated from the pieces above (see 0006): generated again,
-- by the same code, so that they carry the new counter.
DO $migration$
DECLARE
    counters text[] := (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                        WHERE a.attrelid = 'rollup_pending'::regclass AND a.attnum > 9 AND NOT a.attisdropped);
    funnel text := funnel_apply_sql('(SELECT NULL)');
BEGIN
    funnel := substr(funnel, strpos(funnel, 'INSERT INTO conversion_funnels'));
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION rollup_flush() RETURNS trigger
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

-- An agent turning from human to AI (or back) takes its calls' handle time out of (or into) the counter, as a
-- rebuild would count it. Rare, so it may be heavy-handed: the tenant's rollup lock is taken exclusively, as a
-- rebuild takes it, so that no writer of the tenant is staging calls for that agent under the old kind
-- meanwhile (they hold the shared lock until they commit; later ones read the new kind).
CREATE FUNCTION agents_kind_rollup() RETURNS trigger
    LANGUAGE plpgsql
    SET jit = off
AS $$
BEGIN
    IF current_setting('callpulse.defer_rollups', true) = 'on'
       AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT FROM old_rows o JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.id = o.id
                   WHERE (o.kind = 'human') <> (n.kind = 'human')) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(rollup_lock_key(s.tenant_id))
    FROM (SELECT DISTINCT n.tenant_id FROM new_rows n ORDER BY n.tenant_id) AS s;
    INSERT INTO rollup_flush_requests (txid, tenant_id)
    SELECT DISTINCT pg_current_xact_id(), n.tenant_id FROM new_rows n
    ON CONFLICT DO NOTHING;
    INSERT INTO rollup_pending (txid, tenant_id, timezone, local_day, bucket, agent_id, campaign_id, ts_min, ts_max,
                                tracked_handle_seconds)
    SELECT pg_current_xact_id(), c.tenant_id, t.timezone, (c.started_at AT TIME ZONE t.timezone)::date,
           quarter_hour(c.started_at), c.agent_id, c.campaign_id, min(c.started_at), max(c.started_at),
           sum(k.sign * (c.talk_seconds::bigint + c.hold_seconds + c.wrap_up_seconds))
    FROM (SELECT n.tenant_id, n.id, CASE WHEN n.kind = 'human' THEN 1 ELSE -1 END AS sign
          FROM old_rows o JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.id = o.id
          WHERE (o.kind = 'human') <> (n.kind = 'human')) AS k
    JOIN calls c ON c.tenant_id = k.tenant_id AND c.agent_id = k.id
    JOIN tenants t ON t.id = c.tenant_id
    GROUP BY c.tenant_id, t.timezone, 4, 5, c.agent_id, c.campaign_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER agents_kind_rollup AFTER UPDATE ON agents REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION agents_kind_rollup();

-- The counter for what is stored already: the same sums the contribution query gives, per rollup key. A role
-- under row-level security sees (and fills in) no rows here; `callpulse rollups rebuild` does it per tenant.
UPDATE metrics_15m m SET tracked_handle_seconds = s.seconds
FROM (SELECT c.tenant_id, quarter_hour(c.started_at) AS bucket, c.agent_id, c.campaign_id,
             sum(c.talk_seconds::bigint + c.hold_seconds + c.wrap_up_seconds) AS seconds
      FROM calls c JOIN agents g ON g.tenant_id = c.tenant_id AND g.id = c.agent_id
      WHERE g.kind = 'human'
      GROUP BY 1, 2, 3, 4) AS s
WHERE m.tenant_id = s.tenant_id AND m.bucket = s.bucket AND m.agent_id = s.agent_id
  AND m.campaign_id IS NOT DISTINCT FROM s.campaign_id AND s.seconds <> 0;

UPDATE agent_metrics m SET tracked_handle_seconds = s.seconds
FROM (SELECT c.tenant_id, c.agent_id, (c.started_at AT TIME ZONE t.timezone)::date AS day,
             sum(c.talk_seconds::bigint + c.hold_seconds + c.wrap_up_seconds) AS seconds
      FROM calls c JOIN agents g ON g.tenant_id = c.tenant_id AND g.id = c.agent_id
      JOIN tenants t ON t.id = c.tenant_id
      WHERE g.kind = 'human'
      GROUP BY 1, 2, 3) AS s
WHERE m.tenant_id = s.tenant_id AND m.agent_id = s.agent_id AND m.day = s.day AND s.seconds <> 0;

UPDATE campaign_metrics m SET tracked_handle_seconds = s.seconds
FROM (SELECT c.tenant_id, c.campaign_id, (c.started_at AT TIME ZONE t.timezone)::date AS day,
             sum(c.talk_seconds::bigint + c.hold_seconds + c.wrap_up_seconds) AS seconds
      FROM calls c JOIN agents g ON g.tenant_id = c.tenant_id AND g.id = c.agent_id
      JOIN tenants t ON t.id = c.tenant_id
      WHERE g.kind = 'human' AND c.campaign_id IS NOT NULL
      GROUP BY 1, 2, 3) AS s
WHERE m.tenant_id = s.tenant_id AND m.campaign_id = s.campaign_id AND m.day = s.day AND s.seconds <> 0;

UPDATE daily_reports m SET tracked_handle_seconds = s.seconds
FROM (SELECT c.tenant_id, (c.started_at AT TIME ZONE t.timezone)::date AS day,
             sum(c.talk_seconds::bigint + c.hold_seconds + c.wrap_up_seconds) AS seconds
      FROM calls c JOIN agents g ON g.tenant_id = c.tenant_id AND g.id = c.agent_id
      JOIN tenants t ON t.id = c.tenant_id
      WHERE g.kind = 'human'
      GROUP BY 1, 2) AS s
WHERE m.tenant_id = s.tenant_id AND m.day = s.day AND s.seconds <> 0;
