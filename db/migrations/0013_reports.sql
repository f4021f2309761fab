-- Reports: saved report definitions, the durable execution queue, results and rendered files in chunks, and
-- one row per recipient of an execution's delivery.
--
-- Two paths touch these tables (README "Database roles"): the request path (GraphQL CRUD, runReport, exports)
-- under forced RLS like every tenant table, and the maintenance path, whose workers claim executions across
-- tenants with FOR UPDATE SKIP LOCKED (gateway/reports/queue.py). The report itself runs under the tenant.

-- 0004 sketched custom_reports and report_executions before any code used them; nothing in the gateway ever
-- wrote them. They are replaced here (a landed migration stays as it is). Rows in them could only have been
-- written by hand: then this stops rather than drop them.
DO $$
BEGIN
    IF EXISTS (SELECT FROM report_executions) OR EXISTS (SELECT FROM custom_reports) THEN
        RAISE EXCEPTION 'migration 0013 replaces the unused tables custom_reports and report_executions of 0004, '
                        'but they hold rows: move them aside (ALTER TABLE … RENAME) and migrate again';
    END IF;
END
$$;
DROP TABLE report_executions;
DROP TABLE custom_reports;

CREATE TABLE custom_reports (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description    text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    -- A key of the report-type registry (gateway/reports/types), checked by the application.
    report_type    text NOT NULL CHECK (report_type ~ '^[a-z][a-z0-9_]{0,62}$'),
    params         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(params) = 'object'),
    output_format  text NOT NULL DEFAULT 'json' CHECK (output_format IN ('json', 'csv', 'pdf')),
    -- A five-field cron expression, evaluated in the tenant's timezone at each evaluation (not a stored zone: a
    -- tenant that moves its timezone moves its schedules with it).
    schedule_cron  text CHECK (length(schedule_cron) BETWEEN 1 AND 200),
    delivery_mode  text NOT NULL DEFAULT 'always' CHECK (delivery_mode IN ('always', 'only_rows', 'only_changed')),
    -- [{"channel": "email", "address": "…"}, {"channel": "webhook", "address": "https://…"}]
    recipients     jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(recipients) = 'array'),
    shared_with_users uuid[] NOT NULL DEFAULT '{}',
    shared_with_roles text[] NOT NULL DEFAULT '{}'
        CHECK (shared_with_roles <@ ARRAY['admin', 'manager', 'agent', 'viewer']::text[]),
    -- Who scheduled runs run as: the creator's token subject and roles when saved, and the directory user it
    -- named (no foreign key: a creator removed from the directory must stop their schedules, not turn into an
    -- anonymous principal with the saved roles; see gateway/reports/scheduler.py).
    created_by     text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 255),
    created_by_user uuid,
    created_by_roles text[] NOT NULL,
    updated_by     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- Scheduling bookkeeping (gateway/reports/scheduler.py): slots after schedule_since and after last_slot are
    -- due; next_run_at (computed in next_run_timezone) lets the scheduler find due reports through an index.
    schedule_since timestamptz,
    last_slot      timestamptz,
    next_run_at    timestamptz,
    next_run_timezone text,
    PRIMARY KEY (tenant_id, id),
    CHECK (schedule_cron IS NULL OR schedule_since IS NOT NULL)
);
CREATE INDEX custom_reports_tenant_name ON custom_reports (tenant_id, name, id);
CREATE INDEX custom_reports_due ON custom_reports (next_run_at NULLS FIRST) WHERE schedule_cron IS NOT NULL;

SELECT callpulse_protect_table('custom_reports');

CREATE TABLE report_executions (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    -- NULL for an on-demand run of a definition that was never saved.
    report_id      uuid,
    report_type    text NOT NULL CHECK (report_type ~ '^[a-z][a-z0-9_]{0,62}$'),
    params         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(params) = 'object'),
    output_format  text NOT NULL CHECK (output_format IN ('json', 'csv', 'pdf')),
    delivery_mode  text NOT NULL DEFAULT 'always' CHECK (delivery_mode IN ('always', 'only_rows', 'only_changed')),
    recipients     jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(recipients) = 'array'),
    -- The one principal the run reads as: {"subject": …, "roles": […], "user_id": … | null}. Its Access is
    -- rebuilt from the directory when the run starts.
    principal      jsonb NOT NULL CHECK (jsonb_typeof(principal) = 'object'),
    status         text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    -- Claims so far; also the fencing token: results, sends and the end of a run name the attempt they belong to.
    attempt        integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts   integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    -- Not claimed before this instant (retry back-off).
    available_at   timestamptz NOT NULL DEFAULT now(),
    lease_owner    text,
    lease_expires_at timestamptz,
    scheduled_slot timestamptz,
    error_code     text,
    error          text CHECK (length(error) <= 2000),
    -- What the renderers and readers need besides the rows: title, parameters, summary figures, columns, charts.
    summary        jsonb,
    row_count      bigint,
    -- sha256 of the result (columns, summary and rows): `only_changed` delivery compares it with the last run's.
    result_hash    text,
    -- The attempt whose chunks are the result (set on completion).
    result_attempt integer,
    file_name      text,
    content_type   text,
    file_bytes     bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, report_id) REFERENCES custom_reports (tenant_id, id) ON DELETE CASCADE,
    -- Enqueueing a scheduled slot twice (two schedulers, a retried tick) leaves one execution.
    CONSTRAINT report_executions_one_per_slot UNIQUE (tenant_id, report_id, scheduled_slot),
    CHECK (status <> 'processing' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
-- What workers claim: pending runs by availability, and processing runs whose lease has run out.
CREATE INDEX report_executions_pending ON report_executions (available_at) WHERE status = 'pending';
CREATE INDEX report_executions_leased ON report_executions (lease_expires_at) WHERE status = 'processing';
CREATE INDEX report_executions_tenant_created ON report_executions (tenant_id, created_at DESC, id);
CREATE INDEX report_executions_tenant_report ON report_executions (tenant_id, report_id, created_at DESC)
    WHERE report_id IS NOT NULL;

SELECT callpulse_protect_table('report_executions');

-- A result never lives in one value: rows in chunks of up to a thousand (jsonb arrays of arrays, column order),
-- the rendered file in pieces of up to a megabyte. Chunks belong to one attempt; those of other attempts are
-- removed when an attempt completes.
CREATE TABLE report_execution_chunks (
    tenant_id      uuid NOT NULL,
    execution_id   uuid NOT NULL,
    attempt        integer NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('rows', 'file')),
    seq            integer NOT NULL CHECK (seq >= 0),
    row_count      integer,
    rows           jsonb,
    data           bytea,
    PRIMARY KEY (tenant_id, execution_id, attempt, kind, seq),
    FOREIGN KEY (tenant_id, execution_id) REFERENCES report_executions (tenant_id, id) ON DELETE CASCADE,
    CHECK ((kind = 'rows') = (rows IS NOT NULL AND data IS NULL))
);

SELECT callpulse_protect_table('report_execution_chunks');

-- One row per recipient of an execution, made once: its delivery_id is the identity every retry of the send
-- carries (Message-ID, X-CallPulse-Delivery), so a receiver can drop a duplicate after a crash.
CREATE TABLE report_deliveries (
    tenant_id      uuid NOT NULL,
    execution_id   uuid NOT NULL,
    recipient      text NOT NULL CHECK (length(recipient) BETWEEN 1 AND 2048),
    channel        text NOT NULL CHECK (channel IN ('email', 'webhook')),
    delivery_id    uuid NOT NULL DEFAULT gen_random_uuid(),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text CHECK (length(last_error) <= 2000),
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,
    sent_at        timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, execution_id, channel, recipient),
    FOREIGN KEY (tenant_id, execution_id) REFERENCES report_executions (tenant_id, id) ON DELETE CASCADE
);

SELECT callpulse_protect_table('report_deliveries');
