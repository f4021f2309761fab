-- Incremental rollups, kept in step with the raw tables by statement-level triggers, whatever wrote the raw rows
-- (the ingestion API, the seeder's COPY, or the platform's own SQL), in the same transaction.
--
-- Each raw table has a "contribution" query: what its rows add to the counters, with a sign (+1 for new rows,
-- -1 for old rows of an UPDATE or DELETE). rollup_apply() fans contributions out to the four counter tables
-- (metrics_15m, agent_metrics, campaign_metrics, daily_reports), and the funnel contributions go to
-- conversion_funnels. The same contribution queries over the raw tables themselves rebuild the rollups
-- (rollup_rebuild), so incremental and rebuilt numbers come from one definition.

-- Ingestion bookkeeping: when the winning CSAT rating and lead score were given (the latest one wins, whatever
-- order events arrive in), and notification delivery tracking.
ALTER TABLE calls ADD COLUMN csat_submitted_at timestamptz;
ALTER TABLE leads ADD COLUMN score_updated_at timestamptz;

CREATE TABLE notification_deliveries (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    notification_id uuid NOT NULL,
    occurred_at     timestamptz NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp', 'push', 'in_app')),
    status          text NOT NULL CHECK (status IN ('delivered', 'failed')),
    error           text,
    PRIMARY KEY (tenant_id, notification_id, occurred_at, status)
);
CREATE INDEX notification_deliveries_tenant_time ON notification_deliveries (tenant_id, occurred_at);
SELECT callpulse_protect_table('notification_deliveries');

-- Funnel order of the stages ('lost' has none): moving to a later stage is advancing.
CREATE FUNCTION funnel_stage_rank(stage text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT array_position(ARRAY['new', 'contacted', 'qualified', 'proposal', 'won'], stage) $$;

-- Upper bounds (seconds) of the time-in-stage histogram buckets; the last bucket is unbounded.
-- Percentiles read from it are exact to the bucket: the reported value is the upper bound of its bucket.
CREATE FUNCTION funnel_histogram_bounds() RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY[60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 129600, 172800, 259200,
                   345600, 432000, 604800, 864000, 1209600, 1814400, 2592000, 3888000, 5184000, 7776000]::integer[] $$;

-- 1-based bucket of a duration in funnel_histogram_bounds() (one past the last bound: the open bucket).
CREATE FUNCTION funnel_histogram_bucket(seconds double precision) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce((SELECT min(i) FROM generate_subscripts(funnel_histogram_bounds(), 1) AS i
                       WHERE seconds <= (funnel_histogram_bounds())[i]),
                      cardinality(funnel_histogram_bounds()) + 1) $$;

-- A histogram from (bucket, count) pairs.
CREATE FUNCTION funnel_histogram(buckets integer[], counts bigint[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT array_agg(coalesce((SELECT sum(c) FROM unnest(buckets, counts) AS u(b, c) WHERE u.b = i), 0)::integer
                       ORDER BY i)
      FROM generate_series(1, cardinality(funnel_histogram_bounds()) + 1) AS i $$;

-- Element-wise sum of two histograms (either may be empty).
CREATE FUNCTION int_array_add(a integer[], b integer[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(array_agg(coalesce(a[i], 0) + coalesce(b[i], 0) ORDER BY i), '{}')
      FROM generate_series(1, greatest(cardinality(a), cardinality(b))) AS i $$;

-- The 15-minute UTC bucket holding ts.
CREATE FUNCTION quarter_hour(ts timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT date_bin('15 minutes', ts, timestamptz '2000-01-01 00:00:00+00') $$;

-- Contribution queries. Each is a SELECT over a relation named by %1$s (a transition table, or a filtered
-- subquery of the raw table for rebuilds) with a sign column, giving: tenant_id, ts (or NULL), day (or NULL:
-- then the tenant-local day of ts), agent_id, campaign_id, and the counters it feeds.
CREATE FUNCTION rollup_contributions_sql(source text) RETURNS text
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
       r.sign * r.cost AS call_cost
FROM %1$s AS r JOIN tenants t ON t.id = r.tenant_id
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

-- The counters each source feeds, in the order its contribution query lists them.
CREATE FUNCTION rollup_counters(source text) RETURNS text[]
    LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE source
    WHEN 'calls' THEN ARRAY['calls_total', 'calls_inbound', 'calls_outbound', 'calls_handled', 'inbound_answered',
                            'inbound_answered_within_sl', 'inbound_abandoned', 'answer_wait_seconds', 'talk_seconds',
                            'hold_seconds', 'wrap_up_seconds', 'transfers', 'first_contact_resolved', 'csat_count',
                            'csat_sum', 'csat_positive', 'call_cost']
    WHEN 'leads' THEN ARRAY['leads_generated']
    WHEN 'lead_stage_history' THEN ARRAY['leads_contacted', 'leads_converted', 'revenue']
    WHEN 'tasks' THEN ARRAY['tasks_completed']
    WHEN 'agent_status_intervals' THEN ARRAY['available_seconds', 'busy_seconds', 'wrap_up_state_seconds']
    WHEN 'points_ledger' THEN ARRAY['points']
    WHEN 'campaign_spend' THEN ARRAY['spend']
END $$;

-- One upsert into a counter table: sums grouped by its key, added to what is stored.
CREATE FUNCTION rollup_upsert_sql(target text, key_columns text[], key_exprs text[], conflict text, filter text,
                                  counters text[]) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$
SELECT format(
    'INSERT INTO %1$I (tenant_id, %2$s, %3$s) '
    'SELECT c.tenant_id, %4$s, %5$s FROM c WHERE %6$s GROUP BY c.tenant_id, %4$s ORDER BY c.tenant_id, %4$s '
    'ON CONFLICT %7$s DO UPDATE SET %8$s, updated_at = now()',
    target,
    array_to_string(key_columns, ', '),
    (SELECT string_agg(format('%I', n), ', ') FROM unnest(counters) AS n),
    array_to_string(key_exprs, ', '),
    (SELECT string_agg(format('sum(c.%I)', n), ', ') FROM unnest(counters) AS n),
    filter,
    conflict,
    (SELECT string_agg(format('%1$I = %2$I.%1$I + EXCLUDED.%1$I', n, target), ', ') FROM unnest(counters) AS n))
$$;

-- Sends the change signal for one tenant: which agents, teams and campaigns changed, over which time span.
-- NOTIFY payloads must stay under 8000 bytes: when the scope list would not fit, it becomes the whole tenant.
-- PostgreSQL delivers notifications at commit only, and drops duplicates within a transaction.
CREATE FUNCTION rollup_signal(tenant uuid, agents uuid[], campaigns uuid[], span_from timestamptz,
                              span_to timestamptz) RETURNS integer
    LANGUAGE plpgsql
AS $$
DECLARE
    scopes jsonb;
    payload text;
BEGIN
    SELECT jsonb_agg(s ORDER BY s->>'kind', s->>'id') INTO scopes FROM (
        SELECT jsonb_build_object('kind', 'tenant', 'id', tenant) AS s
        UNION ALL SELECT jsonb_build_object('kind', 'agent', 'id', a) FROM unnest(agents) AS a
        UNION ALL SELECT DISTINCT jsonb_build_object('kind', 'team', 'id', g.team_id)
                  FROM agents g WHERE g.tenant_id = tenant AND g.id = any(agents) AND g.team_id IS NOT NULL
        UNION ALL SELECT jsonb_build_object('kind', 'campaign', 'id', c) FROM unnest(campaigns) AS c
    ) AS x;
    payload := jsonb_build_object('tenant', tenant, 'scopes', scopes, 'from', span_from, 'to', span_to)::text;
    IF octet_length(payload) > 7900 THEN
        payload := jsonb_build_object('tenant', tenant, 'scopes', jsonb_build_array(
                       jsonb_build_object('kind', 'tenant', 'id', tenant)), 'from', span_from, 'to', span_to)::text;
    END IF;
    PERFORM pg_notify('callpulse_changes', payload);
    RETURN 1;
END
$$;

-- The statement applying the contributions of `relation` (a transition table or subquery, with a sign column)
-- for `source` to the counter tables, restricted to tenant-local days [from_day, to_day] when given
-- (rebuilds), and signalling the change. Returned as text because a trigger's transition tables are only
-- visible to statements the trigger function itself executes.
CREATE FUNCTION rollup_apply_sql(source text, relation text, from_day date DEFAULT NULL, to_day date DEFAULT NULL)
    RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$
SELECT format($sql$
    WITH contrib AS MATERIALIZED (%1$s),
    c AS MATERIALIZED (
        SELECT x.*, coalesce(x.day, (x.ts AT TIME ZONE t.timezone)::date) AS local_day,
               quarter_hour(x.ts) AS bucket, t.timezone
        FROM contrib x JOIN tenants t ON t.id = x.tenant_id
        WHERE %2$s
    ),
    a AS (%3$s RETURNING 1),
    m AS (%4$s RETURNING 1),
    q AS (%5$s RETURNING 1),
    d AS (%6$s RETURNING 1),
    changed AS (
        -- Only day-level contributions (spend) need their day's bounds in the tenant's zone.
        SELECT s.tenant_id,
               least(s.ts_from, s.day_from::timestamp AT TIME ZONE s.timezone) AS span_from,
               greatest(s.ts_to, (s.day_to + 1)::timestamp AT TIME ZONE s.timezone) AS span_to
        FROM (SELECT c.tenant_id, min(c.timezone) AS timezone, min(c.ts) AS ts_from, max(c.ts) AS ts_to,
                     min(c.local_day) FILTER (WHERE c.ts IS NULL) AS day_from,
                     max(c.local_day) FILTER (WHERE c.ts IS NULL) AS day_to
              FROM c GROUP BY c.tenant_id) AS s
    ),
    agents AS (SELECT DISTINCT c.tenant_id, c.agent_id FROM c WHERE c.agent_id IS NOT NULL),
    campaigns AS (SELECT DISTINCT c.tenant_id, c.campaign_id FROM c WHERE c.campaign_id IS NOT NULL)
    SELECT count(rollup_signal(
        ch.tenant_id,
        ARRAY(SELECT a.agent_id FROM agents a WHERE a.tenant_id = ch.tenant_id),
        ARRAY(SELECT m.campaign_id FROM campaigns m WHERE m.tenant_id = ch.tenant_id),
        ch.span_from, ch.span_to))
    FROM changed ch
$sql$,
    format(rollup_contributions_sql(source), relation),
    CASE WHEN from_day IS NULL THEN 'true'
         ELSE format('coalesce(x.day, (x.ts AT TIME ZONE t.timezone)::date) BETWEEN %L AND %L', from_day, to_day)
    END,
    rollup_upsert_sql('agent_metrics', ARRAY['agent_id', 'day'], ARRAY['c.agent_id', 'c.local_day'],
                      '(tenant_id, agent_id, day)', 'c.agent_id IS NOT NULL', rollup_counters(source)),
    rollup_upsert_sql('campaign_metrics', ARRAY['campaign_id', 'day'], ARRAY['c.campaign_id', 'c.local_day'],
                      '(tenant_id, campaign_id, day)', 'c.campaign_id IS NOT NULL', rollup_counters(source)),
    rollup_upsert_sql('metrics_15m', ARRAY['bucket', 'agent_id', 'campaign_id'],
                      ARRAY['c.bucket', 'c.agent_id', 'c.campaign_id'], 'ON CONSTRAINT metrics_15m_unique',
                      'c.ts IS NOT NULL', rollup_counters(source)),
    rollup_upsert_sql('daily_reports', ARRAY['day'], ARRAY['c.local_day'], '(tenant_id, day)', 'true',
                      rollup_counters(source)))
$$;

-- The funnel counterpart for lead_stage_history: per campaign, stage and tenant-local day of the transition,
-- stays entered, and stays exited (advanced, or lost) with their time in stage.
CREATE FUNCTION funnel_apply_sql(relation text, from_day date DEFAULT NULL, to_day date DEFAULT NULL)
    RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$
SELECT format($sql$
    WITH r AS MATERIALIZED (SELECT x.*, l.campaign_id FROM %1$s AS x
                            JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id),
    contrib AS (
        SELECT r.tenant_id, r.campaign_id, r.stage, r.entered_at AS ts, r.sign AS entered, 0 AS exited,
               0 AS advanced, 0 AS lost, 0::bigint AS seconds, NULL::integer AS k
        FROM r
        UNION ALL
        SELECT r.tenant_id, r.campaign_id, r.stage, r.exited_at, 0, r.sign,
               r.sign * coalesce(funnel_stage_rank(r.next_stage) > funnel_stage_rank(r.stage), false)::int,
               r.sign * (r.next_stage = 'lost')::int,
               r.sign * extract(epoch FROM r.exited_at - r.entered_at)::bigint,
               funnel_histogram_bucket(extract(epoch FROM r.exited_at - r.entered_at))
        FROM r WHERE r.exited_at IS NOT NULL
    ),
    c AS (
        SELECT x.*, (x.ts AT TIME ZONE t.timezone)::date AS local_day
        FROM contrib x JOIN tenants t ON t.id = x.tenant_id
    ),
    per_bucket AS (
        SELECT tenant_id, campaign_id, stage, local_day, k, sum(entered) AS entered, sum(exited) AS exited,
               sum(advanced) AS advanced, sum(lost) AS lost, sum(seconds) AS seconds
        FROM c WHERE %2$s
        GROUP BY tenant_id, campaign_id, stage, local_day, k
    )
    INSERT INTO conversion_funnels AS f (tenant_id, campaign_id, stage, day, entered, exited, advanced, lost,
                                         time_in_stage_seconds_sum, time_in_stage_histogram)
    SELECT tenant_id, campaign_id, stage, local_day, sum(entered), sum(exited), sum(advanced), sum(lost),
           sum(seconds), funnel_histogram(coalesce(array_agg(k) FILTER (WHERE k IS NOT NULL), '{}'),
                                          coalesce(array_agg(exited) FILTER (WHERE k IS NOT NULL), '{}'))
    FROM per_bucket
    GROUP BY tenant_id, campaign_id, stage, local_day
    ORDER BY tenant_id, campaign_id, stage, local_day
    ON CONFLICT ON CONSTRAINT conversion_funnels_unique DO UPDATE SET
        entered = f.entered + EXCLUDED.entered,
        exited = f.exited + EXCLUDED.exited,
        advanced = f.advanced + EXCLUDED.advanced,
        lost = f.lost + EXCLUDED.lost,
        time_in_stage_seconds_sum = f.time_in_stage_seconds_sum + EXCLUDED.time_in_stage_seconds_sum,
        time_in_stage_histogram = int_array_add(f.time_in_stage_histogram, EXCLUDED.time_in_stage_histogram),
        updated_at = now()
$sql$,
    relation,
    CASE WHEN from_day IS NULL THEN 'true' ELSE format('local_day BETWEEN %L AND %L', from_day, to_day) END)
$$;

-- The advisory lock key of a tenant's rollups: shared by writers, exclusive for a rebuild.
CREATE FUNCTION rollup_lock_key(tenant uuid) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashtextextended('callpulse.rollups:' || tenant::text, 0) $$;

-- The one trigger function of every raw table: its statement's rows, signed, into the rollups.
-- A bulk load on the maintenance path (the seeder) may set callpulse.defer_rollups for its transaction and call
-- rollup_rebuild() for its tenant before committing: the same numbers, one set-based pass instead of one per
-- COPY chunk. Only the tables' owner can defer; for everyone else the setting is ignored.
-- JIT is off: the dynamic statements' cost estimates trip it, and compiling takes longer than running them.
CREATE FUNCTION rollup_trigger() RETURNS trigger
    LANGUAGE plpgsql
    SET jit = off
AS $$
DECLARE
    relation text := CASE TG_OP
        WHEN 'INSERT' THEN '(SELECT 1 AS sign, * FROM new_rows)'
        WHEN 'DELETE' THEN '(SELECT -1 AS sign, * FROM old_rows)'
        ELSE '(SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1 AS sign, * FROM old_rows)'
    END;
BEGIN
    IF current_setting('callpulse.defer_rollups', true) = 'on'
       AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RETURN NULL;
    END IF;
    -- A rebuild of the tenant (exclusive lock) must not interleave with deltas it cannot see yet.
    EXECUTE format('SELECT count(pg_advisory_xact_lock_shared(rollup_lock_key(s.tenant_id))) '
                   'FROM (SELECT DISTINCT tenant_id FROM %s AS r) AS s', relation);
    EXECUTE rollup_apply_sql(TG_TABLE_NAME, relation);
    IF TG_TABLE_NAME = 'lead_stage_history' THEN
        EXECUTE funnel_apply_sql(relation);
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['calls', 'leads', 'lead_stage_history', 'tasks', 'agent_status_intervals',
                             'points_ledger', 'campaign_spend'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION rollup_trigger()', t || '_rollup_insert', t);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION rollup_trigger()', t || '_rollup_update', t);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION rollup_trigger()', t || '_rollup_delete', t);
    END LOOP;
END
$$;

-- Recomputes one tenant's rollups for tenant-local days [from_day, to_day] (all days when NULL) from the raw
-- tables, with the very contribution queries the triggers use.
CREATE FUNCTION rollup_rebuild(tenant uuid, from_day date DEFAULT NULL, to_day date DEFAULT NULL)
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
