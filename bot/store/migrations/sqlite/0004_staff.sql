-- Community workers: roles and areas, invite codes, the audit log, notices already
-- sent, and the workflow columns the cases table lacks.

-- Staff members. Admins listed in the configuration are admins without a row here.
CREATE TABLE staff_members (
    user_id       INTEGER PRIMARY KEY,                 -- channel user id
    role          TEXT NOT NULL CHECK (role IN ('worker', 'admin')),
    area_city     TEXT,                                -- 市州 (NULL: every area, admins)
    area_district TEXT,                                -- 区县 (NULL: the whole 市州)
    area_township TEXT,                                -- 乡镇/街道 (optional)
    name          TEXT,                                -- how colleagues see them (称呼)
    active        INTEGER NOT NULL DEFAULT 1,
    invited_by    INTEGER,
    joined_at     REAL NOT NULL,
    revoked_at    REAL,
    revoked_by    INTEGER
);
CREATE INDEX staff_members_area ON staff_members (area_city, area_district, active);

-- Single-use invite codes created by admins.
CREATE TABLE staff_invites (
    code          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('worker', 'admin')),
    area_city     TEXT,
    area_district TEXT,
    area_township TEXT,
    created_by    INTEGER NOT NULL,
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL,
    used_by       INTEGER,
    used_at       REAL,
    revoked_at    REAL
);

-- Who did or tried what, and who saw whose personal data. No personal data in here:
-- ids, an action name, a case id and a short machine-made detail.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         REAL NOT NULL,
    actor_id   INTEGER,
    actor_role TEXT NOT NULL,                          -- resident | worker | admin | system
    action     TEXT NOT NULL,
    case_id    INTEGER,
    allowed    INTEGER NOT NULL DEFAULT 1,             -- 0: refused
    detail     TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_case ON audit_log (case_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);

-- Notices already sent (new request posted, due soon, overdue), so a job that runs
-- again does not send them twice. ``key`` tells deadlines apart after a reopen.
CREATE TABLE case_notices (
    case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL DEFAULT '',
    sent_at REAL NOT NULL,
    PRIMARY KEY (case_id, kind, key)
);

ALTER TABLE cases ADD COLUMN first_claimed_at REAL;       -- for 及时签收率
ALTER TABLE cases ADD COLUMN claimed_at REAL;
ALTER TABLE cases ADD COLUMN resolved_at REAL;
ALTER TABLE cases ADD COLUMN expected_date TEXT;          -- ISO date the worker expects
ALTER TABLE cases ADD COLUMN rating TEXT
    CHECK (rating IS NULL OR rating IN ('satisfied', 'basic', 'unsatisfied'));
ALTER TABLE cases ADD COLUMN rating_comment TEXT;         -- personal: erased with the rest
ALTER TABLE cases ADD COLUMN rated_at REAL;
ALTER TABLE cases ADD COLUMN reopen_count INTEGER NOT NULL DEFAULT 0;
