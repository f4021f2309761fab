-- Screen tokens: an admin's grant that lets a wall screen show one user's dashboard, read-only, for days.
--
-- The grant is the row; what a screen holds is a short-lived JWT naming the row (`scr`), renewed before it
-- expires while the row is neither revoked nor past expires_at (gateway/screens.py). Every HTTP operation
-- and every websocket connection_init of a screen reads its row here by primary key, so a revocation takes
-- effect at once. The owner is a directory user: the screen reads what that user may read, and sees that
-- user's widgets; the grant goes with the user (ON DELETE CASCADE).

CREATE TABLE screen_tokens (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    user_id      uuid NOT NULL,                          -- the dashboard's owner
    label        text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    created_by   text NOT NULL,                          -- the issuing admin's token subject
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,                   -- the grant's end; no renewal reaches past it
    revoked_at   timestamptz,
    last_used_at timestamptz,                            -- the last renewal
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CHECK (expires_at > created_at AND expires_at <= created_at + interval '365 days'),
    CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);
-- The admin's list, newest first; and the users' foreign key (a user's deletion finds its grants).
CREATE INDEX screen_tokens_tenant_created ON screen_tokens (tenant_id, created_at DESC, id);
CREATE INDEX screen_tokens_tenant_user ON screen_tokens (tenant_id, user_id);

SELECT callpulse_protect_table('screen_tokens');
