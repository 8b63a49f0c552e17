-- Questions residents asked the policy matcher, and their 有帮助/没帮助 feedback.
-- Kept for the admins' gap report (fallbacks and unhelpful answers).
CREATE TABLE kb_questions (
    id          INTEGER PRIMARY KEY,
    token       TEXT NOT NULL UNIQUE,      -- short id carried by feedback buttons
    user_id     INTEGER,                   -- NULL once the resident asked to forget
    question    TEXT NOT NULL,
    decision    TEXT NOT NULL,             -- answer | clarify | fallback | none (都不是)
    topic_id    TEXT,                      -- the topic shown, if any
    candidates  TEXT NOT NULL,             -- JSON [[topic id, score], ...] best first
    feedback    INTEGER,                   -- 1 有帮助, 0 没帮助, NULL none yet
    asked_at    REAL NOT NULL,
    feedback_at REAL
);
CREATE INDEX kb_questions_asked_at ON kb_questions (asked_at);
CREATE INDEX kb_questions_user ON kb_questions (user_id);
