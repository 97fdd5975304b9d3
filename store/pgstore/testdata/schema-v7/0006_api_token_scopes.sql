-- API tokens get a role (the most a token may do; requests act with the
-- lower of it and the user's current role), an optional expiry and the
-- time of last use. Existing tokens keep the role their user has now.
ALTER TABLE api_tokens ADD COLUMN role text NOT NULL DEFAULT 'viewer'
    CHECK (role IN ('viewer', 'operator', 'admin'));
UPDATE api_tokens t SET role = u.role FROM users u WHERE u.id = t.user_id;
ALTER TABLE api_tokens ALTER COLUMN role DROP DEFAULT;
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN last_used_at timestamptz;
CREATE INDEX api_tokens_user ON api_tokens (user_id);
