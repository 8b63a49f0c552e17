-- #14 points 2-4: the area responsible for a case is exactly its area columns
-- (市州, 区县, 乡镇/街道; a missing lower part means the whole area above it), a
-- transfer remembers where it came from (退回 sends it back there), and the outbox
-- can edit a message it sent earlier (a staff group's case card).
ALTER TABLE cases ADD COLUMN area_township TEXT;           -- 乡镇/街道 responsible (staff-chosen)
UPDATE cases SET area_city = region_city, area_district = region_district
    WHERE area_city IS NULL;
ALTER TABLE cases ADD COLUMN from_city TEXT;               -- the area a transfer came from
ALTER TABLE cases ADD COLUMN from_district TEXT;
ALTER TABLE cases ADD COLUMN from_township TEXT;
ALTER TABLE cases ADD COLUMN transferred_by BIGINT;        -- who sent the last transfer
CREATE INDEX cases_area_township ON cases (area_city, area_district, area_township);

ALTER TABLE outbox ADD COLUMN edit_of BIGINT;              -- edit the message of this outbox row
