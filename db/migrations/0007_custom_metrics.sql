-- Custom metrics: a tenant's named formulas over the built-in metrics, parsed and evaluated by the gateway's own
-- safe evaluator (gateway/formulas.py) and stored in canonical form. Formulas read built-in metrics only.

CREATE TABLE custom_metrics (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    formula     text NOT NULL CHECK (length(formula) BETWEEN 1 AND 2000),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    higher_is_better boolean NOT NULL DEFAULT true,   -- for rankings and percentiles
    created_by  text,                                 -- the token subject that last defined it
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);

SELECT callpulse_protect_table('custom_metrics');
