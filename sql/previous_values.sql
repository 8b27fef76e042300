-- Each school's last accepted values before a report date, for one ESA: its row in that ESA's
-- latest snapshot before report_date (what a clerk's row of that date is compared with).
-- A school never reported (accepted_on NULL) has nothing to compare and is left out; a
-- value accepted on report_date itself is not previous, so a rerun of the day sees the same.
-- Only the columns the contract's history rules compare (change_factor, change_unless_changed,
-- max_by_link_type): a morning reads every school of the nation this way, and each further
-- column costs time (tests/unit/validation/test_history_checks.py checks the two agree).
SELECT
    s.school_code,
    s.accepted_on,
    s.students,
    s.link_type,
    s.download_mbps,
    s.monthly_fee_thb
FROM snapshot s
WHERE s.esa_code = :esa_code
    AND s.accepted_on IS NOT NULL
    AND s.report_date = (
        SELECT MAX(p.report_date)
        FROM snapshot p
        WHERE p.esa_code = :esa_code AND p.report_date < :report_date
    )
