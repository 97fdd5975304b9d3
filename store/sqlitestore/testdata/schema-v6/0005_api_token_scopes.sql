-- API tokens get a role (the most a token may do; requests act with the
-- lower of it and the user's current role), an optional expiry and the
-- time of last use. Existing tokens keep the role their user has now.
-- (SQLite needs a default to add a NOT NULL column; every insert names
-- the role.)
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer'
    CHECK (role IN ('viewer', 'operator', 'admin'));
UPDATE api_tokens SET role = (SELECT u.role FROM users u WHERE u.id = api_tokens.user_id);
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
