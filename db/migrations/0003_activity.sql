-- What happens on the floor: leads and their stage history, calls, tasks, agent status, gamification.

CREATE TABLE leads (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL,
    campaign_id    uuid,          -- the campaign that sourced the lead
    owner_agent_id uuid,
    name           text,
    source         text NOT NULL CHECK (source IN ('inbound_call', 'web_form', 'referral', 'import', 'social', 'email', 'partner')),
    stage          text NOT NULL DEFAULT 'new' CHECK (stage IN ('new', 'contacted', 'qualified', 'proposal', 'won', 'lost')),
    score          integer NOT NULL DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
    value          numeric(14, 2) NOT NULL DEFAULT 0 CHECK (value >= 0),
    converted_at   timestamptz,   -- when the lead reached 'won'
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE SET NULL (campaign_id),
    FOREIGN KEY (tenant_id, owner_agent_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (owner_agent_id)
);
CREATE INDEX leads_tenant_created ON leads (tenant_id, created_at, id);
CREATE INDEX leads_tenant_campaign ON leads (tenant_id, campaign_id, created_at);
CREATE INDEX leads_tenant_owner ON leads (tenant_id, owner_agent_id);
CREATE INDEX leads_tenant_stage ON leads (tenant_id, stage);

-- One row per stay of a lead in a stage; exited_at and next_stage are NULL while the lead is still there.
-- agent_id is the agent whose action moved the lead into this stage (for 'won': the converting call's agent).
-- Revenue is booked from 'won' stays: value is the lead's value when it was won.
CREATE TABLE lead_stage_history (
    tenant_id  uuid NOT NULL,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    lead_id    uuid NOT NULL,
    stage      text NOT NULL CHECK (stage IN ('new', 'contacted', 'qualified', 'proposal', 'won', 'lost')),
    entered_at timestamptz NOT NULL,
    exited_at  timestamptz,
    next_stage text CHECK (next_stage IN ('new', 'contacted', 'qualified', 'proposal', 'won', 'lost')),
    agent_id   uuid,
    value      numeric(14, 2),   -- for 'won': the lead's value booked as revenue at conversion
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (agent_id),
    CHECK (exited_at IS NULL OR exited_at >= entered_at),
    CHECK ((exited_at IS NULL) = (next_stage IS NULL))
);
CREATE INDEX lead_stage_history_lead ON lead_stage_history (tenant_id, lead_id, entered_at);
CREATE INDEX lead_stage_history_entered ON lead_stage_history (tenant_id, entered_at);

CREATE TABLE calls (
    tenant_id                uuid NOT NULL REFERENCES tenants (id),
    id                       uuid NOT NULL,
    direction                text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    agent_id                 uuid,          -- NULL when abandoned before reaching an agent
    lead_id                  uuid,
    campaign_id              uuid,
    -- Inbound: entry into the queue. Outbound: the moment the agent dialled.
    started_at               timestamptz NOT NULL,
    answered_at              timestamptz,   -- NULL when never answered
    ended_at                 timestamptz NOT NULL,
    talk_seconds             integer NOT NULL DEFAULT 0 CHECK (talk_seconds >= 0),
    hold_seconds             integer NOT NULL DEFAULT 0 CHECK (hold_seconds >= 0),
    wrap_up_seconds          integer NOT NULL DEFAULT 0 CHECK (wrap_up_seconds >= 0),
    abandoned                boolean NOT NULL DEFAULT false,   -- caller hung up while queued
    transferred              boolean NOT NULL DEFAULT false,
    first_contact_resolution boolean NOT NULL DEFAULT false,
    outcome                  text NOT NULL CHECK (outcome IN ('connected', 'no_answer', 'busy', 'voicemail', 'abandoned', 'failed')),
    disposition              text CHECK (disposition IN ('converted', 'interested', 'callback', 'not_interested', 'resolved', 'escalated', 'wrong_number')),
    csat_rating              smallint CHECK (csat_rating BETWEEN 1 AND 5),
    cost                     numeric(12, 4) NOT NULL DEFAULT 0 CHECK (cost >= 0),
    created_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id),
    CHECK (ended_at >= started_at),
    CHECK (answered_at IS NULL OR answered_at >= started_at)
);
CREATE INDEX calls_tenant_started ON calls (tenant_id, started_at, id);
CREATE INDEX calls_tenant_agent_started ON calls (tenant_id, agent_id, started_at);
CREATE INDEX calls_tenant_campaign_started ON calls (tenant_id, campaign_id, started_at);
CREATE INDEX calls_tenant_lead ON calls (tenant_id, lead_id);

CREATE TABLE tasks (
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    id                uuid NOT NULL,
    assignee_agent_id uuid,
    lead_id           uuid,
    title             text NOT NULL,
    status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'completed', 'cancelled')),
    due_at            timestamptz,
    completed_at      timestamptz,
    created_by        uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, assignee_agent_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (assignee_agent_id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE SET NULL (lead_id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by),
    CHECK ((status = 'completed') = (completed_at IS NOT NULL))
);
CREATE INDEX tasks_tenant_assignee ON tasks (tenant_id, assignee_agent_id, status);
CREATE INDEX tasks_tenant_completed ON tasks (tenant_id, completed_at) WHERE completed_at IS NOT NULL;

-- Presence: one row per contiguous stay in a state; ended_at is NULL for the current one.
CREATE TABLE agent_status_intervals (
    tenant_id  uuid NOT NULL,
    agent_id   uuid NOT NULL,
    status     text NOT NULL CHECK (status IN ('available', 'busy', 'wrap_up', 'offline')),
    started_at timestamptz NOT NULL,
    ended_at   timestamptz,
    PRIMARY KEY (tenant_id, agent_id, started_at),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX agent_status_intervals_tenant_started ON agent_status_intervals (tenant_id, started_at);

CREATE TABLE badges (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    code        text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    points      integer NOT NULL DEFAULT 0 CHECK (points >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

CREATE TABLE agent_badges (
    tenant_id  uuid NOT NULL,
    agent_id   uuid NOT NULL,
    badge_id   uuid NOT NULL,
    awarded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, agent_id, badge_id, awarded_at),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, badge_id) REFERENCES badges (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX agent_badges_tenant_awarded ON agent_badges (tenant_id, awarded_at);

CREATE TABLE points_ledger (
    tenant_id  uuid NOT NULL,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    agent_id   uuid NOT NULL,
    points     integer NOT NULL,
    reason     text NOT NULL,
    awarded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX points_ledger_tenant_agent ON points_ledger (tenant_id, agent_id, awarded_at);

SELECT callpulse_protect_table(t)
FROM unnest(ARRAY['leads', 'lead_stage_history', 'calls', 'tasks', 'agent_status_intervals',
                  'badges', 'agent_badges', 'points_ledger']::regclass[]) AS t;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO callpulse_app;
