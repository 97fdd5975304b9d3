-- PLACEHOLDER, delete at merge: version 10 belongs to the incidents
-- branch (0010_incidents). It exists only so that branch casefile's 0011
-- runs on its own (versions must run without gaps).
SELECT 1;
