-- The eight analytics tables of the original design, plus the event-id ledger that de-duplicates events.

-- Raw events, partitioned by month of occurred_at. A unique index on a partitioned table must contain the
-- partition key, so the primary key here cannot stop the same event id arriving with another occurred_at:
-- analytics_event_ids below is the (unpartitioned) ledger that does.
-- The high-volume tables (events, their id ledger, metrics_15m) carry no foreign key to tenants: a per-row check
-- costs more than the rest of the insert, and their tenant_id is fixed by the row-level security policy's
-- WITH CHECK from the verified token, whose tenant the ingestion path checks once per batch.
CREATE TABLE analytics_events (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,             -- client-supplied event id
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    event_type  text NOT NULL,             -- 'call.ended', 'lead.stage_changed', 'track', ...
    name        text,                      -- for 'track' events: 'page_view', 'report_opened', ...
    category    text,                      -- for 'track' events: 'page_view' | 'action' | 'conversion'
    user_id     uuid,
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (tenant_id, occurred_at, id)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX analytics_events_tenant_type ON analytics_events (tenant_id, event_type, occurred_at);
CREATE INDEX analytics_events_tenant_name ON analytics_events (tenant_id, name, occurred_at) WHERE name IS NOT NULL;
CREATE INDEX analytics_events_tenant_user ON analytics_events (tenant_id, user_id, occurred_at) WHERE user_id IS NOT NULL;

-- A far-late or far-future event is never refused: it lands here until its month gets a partition.
CREATE TABLE analytics_events_default PARTITION OF analytics_events DEFAULT;

CREATE TABLE analytics_event_ids (
    tenant_id      uuid NOT NULL,
    id             uuid NOT NULL,
    occurred_at    timestamptz NOT NULL,
    payload_sha256 bytea NOT NULL,          -- a retry with the same id must carry the same payload
    received_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- Creates the monthly partition holding `month` (any timestamp in it) if it is missing, moving rows that had
-- landed in the default partition meanwhile. Runs on the maintenance path (it needs table ownership).
CREATE FUNCTION analytics_events_ensure_partition(month timestamptz) RETURNS boolean
    LANGUAGE plpgsql
AS $$
DECLARE
    lo   timestamptz := date_trunc('month', month AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi   timestamptz := (date_trunc('month', month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    part text := 'analytics_events_p' || to_char(month AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE analytics_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
    EXECUTE format(
        'WITH moved AS (DELETE FROM analytics_events_default WHERE occurred_at >= $1 AND occurred_at < $2 '
        'RETURNING *) INSERT INTO %I SELECT * FROM moved', part) USING lo, hi;
    EXECUTE format('ALTER TABLE analytics_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    PERFORM callpulse_protect_table(part::regclass);
    RETURN true;
END
$$;

-- Partitions from `months_back` months ago to `months_ahead` months ahead of now; returns how many it created.
CREATE FUNCTION analytics_events_maintain_partitions(months_back integer DEFAULT 3, months_ahead integer DEFAULT 3)
    RETURNS integer
    LANGUAGE plpgsql
AS $$
DECLARE
    created integer := 0;
    m       integer;
BEGIN
    FOR m IN -months_back .. months_ahead LOOP
        IF analytics_events_ensure_partition(now() + make_interval(months => m)) THEN
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;

-- Leads moving through stages, per campaign (NULL: leads with no sourcing campaign), stage and tenant-local day.
-- time_in_stage_histogram holds counts per fixed bucket (bucket bounds are documented with the rollups).
CREATE TABLE conversion_funnels (
    tenant_id                  uuid NOT NULL REFERENCES tenants (id),
    id                         bigint GENERATED ALWAYS AS IDENTITY,
    campaign_id                uuid,
    stage                      text NOT NULL CHECK (stage IN ('new', 'contacted', 'qualified', 'proposal', 'won', 'lost')),
    day                        date NOT NULL,
    entered                    integer NOT NULL DEFAULT 0,
    advanced                   integer NOT NULL DEFAULT 0,
    lost                       integer NOT NULL DEFAULT 0,
    exited                     integer NOT NULL DEFAULT 0,
    time_in_stage_seconds_sum  bigint NOT NULL DEFAULT 0,
    time_in_stage_histogram    integer[] NOT NULL DEFAULT '{}',
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT conversion_funnels_unique UNIQUE NULLS NOT DISTINCT (tenant_id, campaign_id, stage, day)
);
CREATE INDEX conversion_funnels_tenant_day ON conversion_funnels (tenant_id, day);

-- The rollups share one set of counters: sums and counts only, so any range merges exactly and every ratio
-- is computed at read time (never an average of averages). Days are the tenant's local calendar days.

-- Daily agent snapshot.
CREATE TABLE agent_metrics (
    tenant_id                   uuid NOT NULL,
    agent_id                    uuid NOT NULL,
    day                         date NOT NULL,
    calls_total                 integer NOT NULL DEFAULT 0,
    calls_inbound               integer NOT NULL DEFAULT 0,
    calls_outbound              integer NOT NULL DEFAULT 0,
    calls_handled               integer NOT NULL DEFAULT 0,
    inbound_answered            integer NOT NULL DEFAULT 0,
    inbound_answered_within_sl  integer NOT NULL DEFAULT 0,
    inbound_abandoned           integer NOT NULL DEFAULT 0,
    answer_wait_seconds         bigint NOT NULL DEFAULT 0,
    talk_seconds                bigint NOT NULL DEFAULT 0,
    hold_seconds                bigint NOT NULL DEFAULT 0,
    wrap_up_seconds             bigint NOT NULL DEFAULT 0,
    transfers                   integer NOT NULL DEFAULT 0,
    first_contact_resolved      integer NOT NULL DEFAULT 0,
    csat_count                  integer NOT NULL DEFAULT 0,
    csat_sum                    integer NOT NULL DEFAULT 0,
    csat_positive               integer NOT NULL DEFAULT 0,
    call_cost                   numeric(16, 4) NOT NULL DEFAULT 0,
    leads_generated             integer NOT NULL DEFAULT 0,
    leads_contacted             integer NOT NULL DEFAULT 0,
    leads_converted             integer NOT NULL DEFAULT 0,
    revenue                     numeric(16, 2) NOT NULL DEFAULT 0,
    tasks_completed             integer NOT NULL DEFAULT 0,
    available_seconds           bigint NOT NULL DEFAULT 0,
    busy_seconds                bigint NOT NULL DEFAULT 0,
    wrap_up_state_seconds       bigint NOT NULL DEFAULT 0,
    points                      bigint NOT NULL DEFAULT 0,
    spend                       numeric(16, 2) NOT NULL DEFAULT 0,
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, agent_id, day),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX agent_metrics_tenant_day ON agent_metrics (tenant_id, day);

-- Daily campaign snapshot: calls placed for the campaign, leads it sourced, its spend.
CREATE TABLE campaign_metrics (
    tenant_id                   uuid NOT NULL,
    campaign_id                 uuid NOT NULL,
    day                         date NOT NULL,
    calls_total                 integer NOT NULL DEFAULT 0,
    calls_inbound               integer NOT NULL DEFAULT 0,
    calls_outbound              integer NOT NULL DEFAULT 0,
    calls_handled               integer NOT NULL DEFAULT 0,
    inbound_answered            integer NOT NULL DEFAULT 0,
    inbound_answered_within_sl  integer NOT NULL DEFAULT 0,
    inbound_abandoned           integer NOT NULL DEFAULT 0,
    answer_wait_seconds         bigint NOT NULL DEFAULT 0,
    talk_seconds                bigint NOT NULL DEFAULT 0,
    hold_seconds                bigint NOT NULL DEFAULT 0,
    wrap_up_seconds             bigint NOT NULL DEFAULT 0,
    transfers                   integer NOT NULL DEFAULT 0,
    first_contact_resolved      integer NOT NULL DEFAULT 0,
    csat_count                  integer NOT NULL DEFAULT 0,
    csat_sum                    integer NOT NULL DEFAULT 0,
    csat_positive               integer NOT NULL DEFAULT 0,
    call_cost                   numeric(16, 4) NOT NULL DEFAULT 0,
    leads_generated             integer NOT NULL DEFAULT 0,
    leads_contacted             integer NOT NULL DEFAULT 0,
    leads_converted             integer NOT NULL DEFAULT 0,
    revenue                     numeric(16, 2) NOT NULL DEFAULT 0,
    tasks_completed             integer NOT NULL DEFAULT 0,
    available_seconds           bigint NOT NULL DEFAULT 0,
    busy_seconds                bigint NOT NULL DEFAULT 0,
    wrap_up_state_seconds       bigint NOT NULL DEFAULT 0,
    points                      bigint NOT NULL DEFAULT 0,
    spend                       numeric(16, 2) NOT NULL DEFAULT 0,
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_id, day),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX campaign_metrics_tenant_day ON campaign_metrics (tenant_id, day);

-- Tenant-wide daily summary; the per-team breakdown sums agent_metrics by team at read time.
CREATE TABLE daily_reports (
    tenant_id                   uuid NOT NULL REFERENCES tenants (id),
    day                         date NOT NULL,
    calls_total                 integer NOT NULL DEFAULT 0,
    calls_inbound               integer NOT NULL DEFAULT 0,
    calls_outbound              integer NOT NULL DEFAULT 0,
    calls_handled               integer NOT NULL DEFAULT 0,
    inbound_answered            integer NOT NULL DEFAULT 0,
    inbound_answered_within_sl  integer NOT NULL DEFAULT 0,
    inbound_abandoned           integer NOT NULL DEFAULT 0,
    answer_wait_seconds         bigint NOT NULL DEFAULT 0,
    talk_seconds                bigint NOT NULL DEFAULT 0,
    hold_seconds                bigint NOT NULL DEFAULT 0,
    wrap_up_seconds             bigint NOT NULL DEFAULT 0,
    transfers                   integer NOT NULL DEFAULT 0,
    first_contact_resolved      integer NOT NULL DEFAULT 0,
    csat_count                  integer NOT NULL DEFAULT 0,
    csat_sum                    integer NOT NULL DEFAULT 0,
    csat_positive               integer NOT NULL DEFAULT 0,
    call_cost                   numeric(16, 4) NOT NULL DEFAULT 0,
    leads_generated             integer NOT NULL DEFAULT 0,
    leads_contacted             integer NOT NULL DEFAULT 0,
    leads_converted             integer NOT NULL DEFAULT 0,
    revenue                     numeric(16, 2) NOT NULL DEFAULT 0,
    tasks_completed             integer NOT NULL DEFAULT 0,
    available_seconds           bigint NOT NULL DEFAULT 0,
    busy_seconds                bigint NOT NULL DEFAULT 0,
    wrap_up_state_seconds       bigint NOT NULL DEFAULT 0,
    points                      bigint NOT NULL DEFAULT 0,
    spend                       numeric(16, 2) NOT NULL DEFAULT 0,
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, day)
);

-- Intraday grain: 15-minute UTC buckets per agent and campaign (NULL: none, e.g. a call abandoned in queue).
-- Every real-world UTC offset is a whole number of quarter hours, so these map exactly onto local hours and days.
-- The key is the unique constraint (NULL agent or campaign included): no surrogate id, one index less to keep up
-- on the hottest rollup.
CREATE TABLE metrics_15m (
    tenant_id                   uuid NOT NULL,
    bucket                      timestamptz NOT NULL,
    agent_id                    uuid,
    campaign_id                 uuid,
    calls_total                 integer NOT NULL DEFAULT 0,
    calls_inbound               integer NOT NULL DEFAULT 0,
    calls_outbound              integer NOT NULL DEFAULT 0,
    calls_handled               integer NOT NULL DEFAULT 0,
    inbound_answered            integer NOT NULL DEFAULT 0,
    inbound_answered_within_sl  integer NOT NULL DEFAULT 0,
    inbound_abandoned           integer NOT NULL DEFAULT 0,
    answer_wait_seconds         bigint NOT NULL DEFAULT 0,
    talk_seconds                bigint NOT NULL DEFAULT 0,
    hold_seconds                bigint NOT NULL DEFAULT 0,
    wrap_up_seconds             bigint NOT NULL DEFAULT 0,
    transfers                   integer NOT NULL DEFAULT 0,
    first_contact_resolved      integer NOT NULL DEFAULT 0,
    csat_count                  integer NOT NULL DEFAULT 0,
    csat_sum                    integer NOT NULL DEFAULT 0,
    csat_positive               integer NOT NULL DEFAULT 0,
    call_cost                   numeric(16, 4) NOT NULL DEFAULT 0,
    leads_generated             integer NOT NULL DEFAULT 0,
    leads_contacted             integer NOT NULL DEFAULT 0,
    leads_converted             integer NOT NULL DEFAULT 0,
    revenue                     numeric(16, 2) NOT NULL DEFAULT 0,
    tasks_completed             integer NOT NULL DEFAULT 0,
    available_seconds           bigint NOT NULL DEFAULT 0,
    busy_seconds                bigint NOT NULL DEFAULT 0,
    wrap_up_state_seconds       bigint NOT NULL DEFAULT 0,
    points                      bigint NOT NULL DEFAULT 0,
    spend                       numeric(16, 2) NOT NULL DEFAULT 0,
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT metrics_15m_unique UNIQUE NULLS NOT DISTINCT (tenant_id, bucket, agent_id, campaign_id)
);
CREATE INDEX metrics_15m_agent ON metrics_15m (tenant_id, agent_id, bucket);
CREATE INDEX metrics_15m_campaign ON metrics_15m (tenant_id, campaign_id, bucket);

CREATE TABLE custom_reports (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    report_type text NOT NULL CHECK (report_type IN ('lead', 'call', 'campaign', 'agent_performance', 'gamification', 'custom')),
    config      jsonb NOT NULL DEFAULT '{}'::jsonb,
    schedule    text,                       -- cron expression in the tenant's timezone; NULL: on demand only
    recipients  text[] NOT NULL DEFAULT '{}',
    format      text NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'csv', 'pdf')),
    is_active   boolean NOT NULL DEFAULT true,
    next_run_at timestamptz,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE INDEX custom_reports_due ON custom_reports (next_run_at) WHERE is_active AND next_run_at IS NOT NULL;

CREATE TABLE report_executions (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    report_id    uuid NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    format       text NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'csv', 'pdf')),
    parameters   jsonb NOT NULL DEFAULT '{}'::jsonb,
    result       jsonb,
    row_count    integer,
    error        text,
    attempts     integer NOT NULL DEFAULT 0,
    requested_by uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    completed_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, report_id) REFERENCES custom_reports (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (requested_by)
);
CREATE INDEX report_executions_report ON report_executions (tenant_id, report_id, created_at DESC);
-- The queue claim spans tenants (maintenance path, FOR UPDATE SKIP LOCKED) and reads this index.
CREATE INDEX report_executions_queue ON report_executions (created_at) WHERE status = 'pending';

CREATE TABLE dashboard_widgets (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    user_id     uuid NOT NULL,
    widget_type text NOT NULL CHECK (widget_type IN ('kpi', 'timeseries', 'leaderboard', 'funnel', 'table', 'comparison')),
    title       text NOT NULL DEFAULT '',
    position_x  integer NOT NULL DEFAULT 0 CHECK (position_x >= 0),
    position_y  integer NOT NULL DEFAULT 0 CHECK (position_y >= 0),
    width       integer NOT NULL DEFAULT 4 CHECK (width BETWEEN 1 AND 24),
    height      integer NOT NULL DEFAULT 3 CHECK (height BETWEEN 1 AND 24),
    config      jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX dashboard_widgets_user ON dashboard_widgets (tenant_id, user_id, position_y, position_x);

SELECT callpulse_protect_table(t)
FROM unnest(ARRAY['analytics_events', 'analytics_events_default', 'analytics_event_ids', 'conversion_funnels',
                  'agent_metrics', 'campaign_metrics', 'daily_reports', 'metrics_15m', 'custom_reports', 'report_executions',
                  'dashboard_widgets']::regclass[]) AS t;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO callpulse_app;

SELECT analytics_events_maintain_partitions(3, 3);
