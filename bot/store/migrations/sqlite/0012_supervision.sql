-- Supervision (#14): area leads, requests that wait for a second person (a deadline
-- extension, 延期; a 无法受理 that another person checks), and phone contacts logged
-- on a case (联系记录). Portable SQL: ISO/epoch REAL times, BIGINT user ids.

-- A worker who also supervises their own area (/lead): sees its open cases and
-- workload, reassigns, releases, decides extensions and checks. Active only while
-- the member is.
CREATE TABLE staff_leads (
    user_id    BIGINT PRIMARY KEY,
    granted_by BIGINT,
    granted_at REAL NOT NULL
);

CREATE TABLE case_requests (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('extend', 'invalid')),
    requested_by BIGINT NOT NULL,
    requested_at REAL NOT NULL,
    reason       TEXT,                        -- personal: erased with the case's data
    days         INTEGER,                     -- extend: working days added
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'approved', 'refused', 'void')),
    decided_by   BIGINT,
    decided_at   REAL
);
CREATE INDEX case_requests_case ON case_requests (case_id, status);

CREATE TABLE case_contacts (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at        REAL NOT NULL,                  -- when the call was made
    logged_at REAL NOT NULL,
    staff_id  BIGINT NOT NULL,
    outcome   TEXT NOT NULL
              CHECK (outcome IN ('reached', 'no_answer', 'wrong_number', 'call_back'))
);
CREATE INDEX case_contacts_case ON case_contacts (case_id, at);
