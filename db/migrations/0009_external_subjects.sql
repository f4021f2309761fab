-- An identity provider's subject (`auth0|5f…`, a Keycloak or Entra object id) is not our user UUID:
-- a directory user may carry the provider's subject, unique within its tenant, and tokens whose `sub`
-- is that subject act as that user.
ALTER TABLE users ADD COLUMN external_subject text;
ALTER TABLE users ADD CONSTRAINT users_external_subject_length
    CHECK (external_subject IS NULL OR length(external_subject) BETWEEN 1 AND 255);
CREATE UNIQUE INDEX users_tenant_external_subject ON users (tenant_id, external_subject)
    WHERE external_subject IS NOT NULL;
