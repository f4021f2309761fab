-- The directory: teams, agents, users, team managers, campaigns and their spend.
-- Every key leads with tenant_id, and every foreign key includes it, so no row can point at another tenant's row
-- and the schema can be distributed by tenant_id later.

CREATE TABLE teams (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX teams_tenant_name ON teams (tenant_id, name);

CREATE TABLE agents (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    team_id    uuid,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email      text,
    kind       text NOT NULL CHECK (kind IN ('human', 'ai')),
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'on_leave')),
    hired_on   date,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE SET NULL (team_id)
);
CREATE INDEX agents_tenant_team ON agents (tenant_id, team_id);
CREATE INDEX agents_tenant_name ON agents (tenant_id, name, id);

CREATE TABLE users (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    email        text NOT NULL,
    display_name text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'manager', 'agent', 'viewer')),
    agent_id     uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (agent_id),
    -- A user acting as an agent is linked to that agent's row.
    CONSTRAINT users_agent_link CHECK (role <> 'agent' OR agent_id IS NOT NULL)
);
CREATE INDEX users_tenant_email ON users (tenant_id, lower(email));
CREATE INDEX users_tenant_agent ON users (tenant_id, agent_id) WHERE agent_id IS NOT NULL;

CREATE TABLE team_managers (
    tenant_id  uuid NOT NULL,
    team_id    uuid NOT NULL,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, team_id, user_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX team_managers_tenant_user ON team_managers (tenant_id, user_id);

CREATE TABLE campaigns (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    channel    text NOT NULL DEFAULT 'phone' CHECK (channel IN ('phone', 'email', 'sms', 'web', 'social', 'referral')),
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('draft', 'active', 'paused', 'completed')),
    budget     numeric(14, 2) CHECK (budget >= 0),
    starts_on  date,
    ends_on    date,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by),
    CHECK (ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on)
);
CREATE INDEX campaigns_tenant_status ON campaigns (tenant_id, status, starts_on);

CREATE TABLE campaign_spend (
    tenant_id   uuid NOT NULL,
    campaign_id uuid NOT NULL,
    day         date NOT NULL,
    amount      numeric(14, 2) NOT NULL CHECK (amount >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_id, day),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX campaign_spend_tenant_day ON campaign_spend (tenant_id, day);

SELECT callpulse_protect_table(t)
FROM unnest(ARRAY['teams', 'agents', 'users', 'team_managers', 'campaigns', 'campaign_spend']::regclass[]) AS t;
