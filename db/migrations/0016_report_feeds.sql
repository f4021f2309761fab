-- BI feeds: a read-only URL that serves one saved report's latest completed result (CSV or JSON) to a BI tool
-- (Excel, Power BI, Tableau web connectors), with a token of its own, revocable, scoped to that one report.
--
-- The token is shown once, when the feed is issued, and never stored: only its SHA-256 is kept here, looked up
-- by the (tenant, hash) index. The token carries its tenant's id (gateway/reports/http/feeds.py), so the lookup
-- runs on the request path under that tenant's row-level security like every other read; nothing here spans
-- tenants. A feed serves what its issuer's scope covers, with the issuer's current directory role (a demoted or
-- removed issuer's feeds stop serving), and goes with its report (ON DELETE CASCADE).

CREATE TABLE report_feeds (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    report_id    uuid NOT NULL,
    -- sha256 of the whole token text.
    token_hash   bytea NOT NULL CHECK (length(token_hash) = 32),
    label        text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    -- {"subject": …, "roles": […], "user_id": … | null}: who issued it, as an execution records its principal.
    issued_by    jsonb NOT NULL CHECK (jsonb_typeof(issued_by) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    revoked_by   text,
    -- Moved at most once a minute: a BI tool refreshing every few seconds does not write every time.
    last_used_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, report_id) REFERENCES custom_reports (tenant_id, id) ON DELETE CASCADE,
    CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);
CREATE UNIQUE INDEX report_feeds_token ON report_feeds (tenant_id, token_hash);
-- A report's feeds, newest first (the admin's and creator's list); also the report's foreign key.
CREATE INDEX report_feeds_report ON report_feeds (tenant_id, report_id, created_at DESC, id);

SELECT callpulse_protect_table('report_feeds');
