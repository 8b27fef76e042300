-- What connection costs, per link type (fiber, dsl, mobile, satellite, other), on one report date:
-- connected schools, their monthly fees in total, the median monthly fee and the median fee per
-- Mbps of download speed (monthly_fee_thb / download_mbps), in baht.
-- Medians, the same way on SQLite and PostgreSQL (neither shares a median function): the values
-- of each group are numbered in order with ROW_NUMBER() and counted with COUNT() OVER; the
-- median is the mean of rows (n + 1) / 2 and (n + 2) / 2 in integer division, i.e. the middle
-- value of an odd count and the mean of the two middle values of an even one.
-- A blank fee is left out of both medians; fee per Mbps needs a download speed above 0.
-- Largest groups first.
WITH connected AS (
    SELECT link_type AS grp, monthly_fee_thb AS fee, download_mbps
    FROM snapshot
    WHERE report_date = :report_date AND status = 'connected'
),
fees AS (
    SELECT
        grp,
        fee,
        ROW_NUMBER() OVER (PARTITION BY grp ORDER BY fee) AS rank_in_group,
        COUNT(*) OVER (PARTITION BY grp) AS n
    FROM connected
    WHERE fee IS NOT NULL
),
fees_per_mbps AS (
    SELECT
        grp,
        fee / download_mbps AS fee_per_mbps,
        ROW_NUMBER() OVER (PARTITION BY grp ORDER BY fee / download_mbps) AS rank_in_group,
        COUNT(*) OVER (PARTITION BY grp) AS n
    FROM connected
    WHERE fee IS NOT NULL AND download_mbps > 0
),
fee_median AS (
    SELECT grp, AVG(fee) AS median
    FROM fees
    WHERE rank_in_group IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY grp
),
fee_per_mbps_median AS (
    SELECT grp, AVG(fee_per_mbps) AS median
    FROM fees_per_mbps
    WHERE rank_in_group IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY grp
)
SELECT
    c.grp AS link_type,
    COUNT(*) AS connected,
    SUM(c.fee) AS monthly_fee_total_thb,
    fm.median AS median_monthly_fee_thb,
    pm.median AS median_fee_per_mbps_thb
FROM connected c
LEFT JOIN fee_median fm ON fm.grp = c.grp
LEFT JOIN fee_per_mbps_median pm ON pm.grp = c.grp
GROUP BY c.grp, fm.median, pm.median
ORDER BY COUNT(*) DESC, c.grp
