-- Help requests (我要求助), their status history and messages.
-- Personal data (phone, typed place names, description, contact time, attachments,
-- message bodies, notes) can be erased per case (/forget, retention): the row stays,
-- with category, 市州/区县, dates and status, for statistics.
CREATE TABLE cases (
    id                 INTEGER PRIMARY KEY,
    ref                TEXT NOT NULL UNIQUE,          -- SC-YYMM-XXXX, shown to the resident
    draft_id           TEXT NOT NULL UNIQUE,          -- idempotency: one case per draft
    user_id            INTEGER,                       -- the resident; NULL after /forget
    chat_id            INTEGER,                       -- where to tell the resident of changes
    status             TEXT NOT NULL DEFAULT 'new' CHECK (status IN (
                           'new', 'claimed', 'in_progress', 'resolved', 'closed',
                           'transferred', 'withdrawn', 'invalid')),
    category           TEXT NOT NULL,
    region_city        TEXT NOT NULL,                 -- 市州
    region_district    TEXT NOT NULL,                 -- 区县 (may be typed: "other")
    region_township    TEXT,                          -- 乡镇/街道 (typed, personal)
    region_village     TEXT,                          -- 村/社区 (typed, personal)
    description        TEXT,
    phone              TEXT,
    contact_time       TEXT,                          -- am | pm | evening | any
    urgent             INTEGER NOT NULL DEFAULT 0,    -- flagged for priority review
    urgent_by_resident INTEGER NOT NULL DEFAULT 0,
    urgent_words       TEXT NOT NULL DEFAULT '[]',    -- JSON: words that flagged it
    attachments        TEXT NOT NULL DEFAULT '[]',    -- JSON: screening / unanswered question
    target_days        INTEGER NOT NULL,              -- working days to follow up
    due_at             REAL,                          -- target as a time (weekends skipped)
    assignee_id        INTEGER,                       -- staff user who claimed it
    area_district      TEXT,                          -- area currently responsible (transfer)
    area_city          TEXT,
    created_at         REAL NOT NULL,
    updated_at         REAL NOT NULL,
    closed_at          REAL,                          -- resolved/closed/withdrawn/invalid
    erased_at          REAL                           -- personal data erased
);
CREATE INDEX cases_user ON cases (user_id, created_at);
CREATE INDEX cases_status ON cases (status, created_at);
CREATE INDEX cases_area ON cases (area_city, area_district, status);
CREATE INDEX cases_assignee ON cases (assignee_id, status);

-- Every status change: who, when, from, to, note. The first row has from_status NULL.
CREATE TABLE case_history (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at          REAL NOT NULL,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('resident', 'staff', 'system')),
    actor_id    INTEGER,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    note        TEXT
);
CREATE INDEX case_history_case ON case_history (case_id, at);

-- Messages on a case: from the resident, replies from staff, private staff notes.
CREATE TABLE case_messages (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at          REAL NOT NULL,
    author_kind TEXT NOT NULL CHECK (author_kind IN ('resident', 'staff', 'system')),
    author_id   INTEGER,
    body        TEXT,                                 -- NULL once erased
    private     INTEGER NOT NULL DEFAULT 0            -- staff-only note
);
CREATE INDEX case_messages_case ON case_messages (case_id, at);
