-- Tenancy primitives: the request role, the tenant setting, the helper that protects a table,
-- and the tenants table itself.
--
-- Roles (see README, "Database roles"):
--   * the migration/maintenance role is whoever runs `callpulse migrate` (DATABASE_URL); it owns every table;
--   * callpulse_app is a NOLOGIN group holding the request path's privileges; the gateway's login role
--     (CALLPULSE_APP_ROLE, default callpulse_gateway) is a member of it. Neither owns anything, neither is a
--     superuser, neither has BYPASSRLS, so forced row-level security always applies to them.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callpulse_app') THEN
        CREATE ROLE callpulse_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION
    -- Another database on the same cluster created it at the same moment.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO callpulse_app;

-- The tenant of the current transaction, or NULL when none is set: policies compare against NULL and
-- therefore match no row at all.
CREATE FUNCTION app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

GRANT EXECUTE ON FUNCTION app_current_tenant() TO callpulse_app;

-- Every tenant table goes through this: RLS enabled and forced (so even the owner is filtered unless it is a
-- superuser or has BYPASSRLS), one policy for reads and writes, and the request role's privileges.
CREATE FUNCTION callpulse_protect_table(t regclass, tenant_column name DEFAULT 'tenant_id') RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (%I = app_current_tenant()) '
        'WITH CHECK (%I = app_current_tenant())',
        t, tenant_column, tenant_column);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO callpulse_app', t);
END
$$;

CREATE TABLE tenants (
    id                              uuid PRIMARY KEY,
    name                            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- IANA zone name; validated by the application against pg_timezone_names.
    timezone                        text NOT NULL DEFAULT 'UTC',
    service_level_threshold_seconds integer NOT NULL DEFAULT 20 CHECK (service_level_threshold_seconds > 0),
    default_export_format           text NOT NULL DEFAULT 'json' CHECK (default_export_format IN ('json', 'csv', 'pdf')),
    settings                        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at                      timestamptz NOT NULL DEFAULT now(),
    updated_at                      timestamptz NOT NULL DEFAULT now()
);

SELECT callpulse_protect_table('tenants', 'id');
-- Tenants are provisioned on the maintenance path; the request path may read and update its own row only.
REVOKE INSERT, DELETE ON tenants FROM callpulse_app;

-- /readyz on the request path compares the applied migrations with the files it ships. (The ledger is absent
-- only when these files are applied by hand, without `callpulse migrate`.)
DO $$
BEGIN
    IF to_regclass('public.schema_migrations') IS NOT NULL THEN
        GRANT SELECT ON schema_migrations TO callpulse_app;
    END IF;
END
$$;
