-- Placeholder on branch notify2 only: versions 10 and 11 belong to other
-- branches (the lead drops this file at merge). Nothing to do.
SELECT 1;
