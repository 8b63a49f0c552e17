-- The head of household's year of birth, from the roster's optional 出生年份 column:
-- one person aged 80 or older is flagged before anyone has visited (#17 point 5).
ALTER TABLE households ADD COLUMN birth_year BIGINT;
