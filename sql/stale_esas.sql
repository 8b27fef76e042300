-- ESAs that are behind on report_date: their sheet could not be used that day (the pull failed
-- or was rejected, or there is no pull), or its data has not changed for `days` days or more.
-- "Changed" is pull.data_changed_on: the Bangkok date the ESA's data last changed as of that
-- pull, set by the merge from a digest of the data tab's values, so our own writes to the sheet
-- (the feedback tab) never count, and never after the report date (a rerun of a past date with
-- a sheet edited since gives 0 days, not a negative age). Every ESA of the registry has a row
-- when `days` is 0.
-- days_since_update: whole days from that date to report_date; NULL when the ESA's data was
-- never read, and such ESAs come first. Then the longest behind, then by ESA code.
-- Portable day arithmetic: SQLite has no date type and PostgreSQL no julianday(), so each date
-- is read as ISO text (YYYY-MM-DD, PostgreSQL's default DateStyle ISO) and turned into a day
-- number with integer arithmetic (a civil-calendar day count, years starting in March):
--   m' = (month + 9) % 12, y' = year - m' / 10,
--   day = 365 y' + y' / 4 - y' / 100 + y' / 400 + (306 m' + 5) / 10 + dd - 1.
WITH latest AS (
    SELECT
        e.esa_code,
        e.esa_name,
        e.level,
        e.province,
        p.outcome,
        p.error_code,
        p.reason,
        p.last_good_date,
        p.sheet_modified_time,
        p.data_changed_on,
        CAST(p.data_changed_on AS VARCHAR(10)) AS updated_text,
        CAST(:report_date AS VARCHAR(10)) AS report_text
    FROM esa e
    LEFT JOIN pull p ON p.esa_code = e.esa_code AND p.report_date = :report_date
),
parts AS (
    SELECT
        l.*,
        CAST(SUBSTR(l.updated_text, 1, 4) AS INTEGER) AS u_year,
        (CAST(SUBSTR(l.updated_text, 6, 2) AS INTEGER) + 9) % 12 AS u_month,
        CAST(SUBSTR(l.updated_text, 9, 2) AS INTEGER) AS u_day,
        CAST(SUBSTR(l.report_text, 1, 4) AS INTEGER) AS r_year,
        (CAST(SUBSTR(l.report_text, 6, 2) AS INTEGER) + 9) % 12 AS r_month,
        CAST(SUBSTR(l.report_text, 9, 2) AS INTEGER) AS r_day
    FROM latest l
),
shifted AS (
    SELECT
        p.*,
        p.u_year - p.u_month / 10 AS u_mar_year,
        p.r_year - p.r_month / 10 AS r_mar_year
    FROM parts p
),
aged AS (
    SELECT
        s.*,
        (
            365 * s.r_mar_year + s.r_mar_year / 4 - s.r_mar_year / 100 + s.r_mar_year / 400
            + (306 * s.r_month + 5) / 10 + s.r_day
        ) - (
            365 * s.u_mar_year + s.u_mar_year / 4 - s.u_mar_year / 100 + s.u_mar_year / 400
            + (306 * s.u_month + 5) / 10 + s.u_day
        ) AS days_since_update
    FROM shifted s
)
SELECT
    esa_code,
    esa_name,
    level,
    province,
    outcome,
    error_code,
    reason,
    last_good_date,
    sheet_modified_time,
    data_changed_on,
    days_since_update
FROM aged
WHERE outcome IS NULL
    OR outcome <> 'accepted'
    OR days_since_update IS NULL
    OR days_since_update >= :days
ORDER BY
    CASE WHEN days_since_update IS NULL THEN 0 ELSE 1 END,
    days_since_update DESC,
    esa_code
