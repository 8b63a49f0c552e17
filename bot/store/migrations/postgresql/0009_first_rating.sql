-- PostgreSQL twin of sqlite/0009_first_rating.sql: BIGINT ids (identity columns), DOUBLE PRECISION times.
-- The first rating of each request, kept when a reopened request is rated again: the
-- report's 满意率 counts the first one (不满意 → reopened → 满意 is not a satisfied case).
ALTER TABLE cases ADD COLUMN first_rating TEXT
    CHECK (first_rating IS NULL OR first_rating IN ('satisfied', 'basic', 'unsatisfied'));
ALTER TABLE cases ADD COLUMN first_rated_at DOUBLE PRECISION;

-- Requests rated before this migration. Never reopened: the rating is the first one.
UPDATE cases SET first_rating = rating, first_rated_at = rated_at
    WHERE rating IS NOT NULL AND reopen_count = 0;
-- Reopened: when the resident's first step out of 'resolved' sent it back to work, the
-- first rating was 不满意 (满意 / 基本满意 close it). Otherwise it stays unknown.
UPDATE cases SET first_rating = 'unsatisfied',
    first_rated_at = (
        SELECT MIN(h.at) FROM case_history h
        WHERE h.case_id = cases.id AND h.actor_kind = 'resident' AND h.from_status = 'resolved'
    )
    WHERE first_rating IS NULL AND (
        SELECT h.to_status FROM case_history h
        WHERE h.case_id = cases.id AND h.actor_kind = 'resident' AND h.from_status = 'resolved'
        ORDER BY h.at, h.id LIMIT 1
    ) IN ('new', 'claimed', 'in_progress');
