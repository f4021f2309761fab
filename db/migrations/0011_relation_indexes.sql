-- Indexes for the lists below entities (agent.leads, agent.tasks, lead.tasks, …).
--
-- Each such list is read for a page of parents in one statement: every parent's own keyset page, joined
-- LATERAL, newest first by default. An index on (parent, created_at) lets each parent's page stop after
-- `first` rows. Checked with EXPLAIN ANALYZE on a seeded tenant (60 agents, 112k calls, 4k leads, 4k tasks;
-- 50 parents, 10 per parent). Calls need nothing new: calls_tenant_agent_started, calls_tenant_campaign_started
-- and calls_tenant_lead serve agent.calls, campaign.calls and lead.calls; leads_tenant_campaign serves
-- campaign.leads; agents_tenant_team and team_managers' primary key serve team.agents and team.managers.

-- lead.tasks had no index on tasks.lead_id at all: a scan of the tenant's tasks per parent (20 ms for 50 leads
-- over 4k tasks, growing with the table). It also serves tasks(filter: {leadId}) and the lead foreign key's
-- ON DELETE SET NULL.
CREATE INDEX tasks_tenant_lead_created ON tasks (tenant_id, lead_id, created_at);

-- agent.tasks found an agent's tasks through tasks_tenant_assignee (…, status) and sorted all of them per
-- parent; with created_at in the key it reads `first` of them. tasks_tenant_assignee stays for the status
-- filter.
CREATE INDEX tasks_tenant_assignee_created ON tasks (tenant_id, assignee_agent_id, created_at);

-- agent.leads walked the tenant's leads newest first (leads_tenant_created), skipping the other agents' leads:
-- ~900 rows per parent here, and the tenant's whole history for an agent without recent leads. This index
-- leads with the same columns as leads_tenant_owner, which it replaces.
CREATE INDEX leads_tenant_owner_created ON leads (tenant_id, owner_agent_id, created_at);
DROP INDEX leads_tenant_owner;
