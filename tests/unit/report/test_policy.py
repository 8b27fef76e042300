"""The top-up policy file: size classes, shares and caps, and the grant it gives each school."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from schoolnet.core.config import ConfigError
from schoolnet.report.policy import Grant, load_policy, parse_policy, support_lines


def test_shipped_default_is_obecs_size_classes() -> None:
    policy = load_policy()
    assert policy.size_class("primary", 120) == "small"
    assert policy.size_class("primary", 121) == "medium"
    assert policy.size_class("primary", 1500) == "large"
    assert policy.size_class("primary", 1501) == "extra_large"
    assert policy.size_class("secondary", 499) == "small"
    assert policy.size_class("secondary", 2500) == "extra_large"
    assert policy.size_class("primary", None) == "small"  # unknown counts as small
    assert policy.class_range("secondary", "medium") == (500, 1499)
    assert policy.class_range("primary", "extra_large") == (1501, None)
    assert policy.query_parameters()["secondary_large_min"] == 1500


def test_grant_is_share_of_request_up_to_cap() -> None:
    grant = Grant(share=Decimal("0.75"), cap_thb=Decimal(1200))
    assert grant.of(Decimal(1000)) == Decimal("750.00")
    assert grant.of(Decimal(2000)) == Decimal(1200)  # 1,500 capped
    assert grant.of(Decimal(0)) == 0
    assert grant.of(Decimal("333.33")) == Decimal("250.00")  # 249.9975 rounded half up


def test_support_lines_apply_cap_per_school_not_per_class() -> None:
    policy = load_policy()
    class_rows = [
        {"level": "primary", "size_class": "small", "schools": 3, "requesting": 2,
         "support_requested_thb": 3000.0},
        {"level": "primary", "size_class": "medium", "schools": 1, "requesting": 1,
         "support_requested_thb": 2000.0},
    ]  # fmt: skip
    requests = [
        {"level": "primary", "students": 40, "support_requested_thb": 1000.0},  # 1,000
        {"level": "primary", "students": 90, "support_requested_thb": 2000.0},  # cap 1,500
        {"level": "primary", "students": 300, "support_requested_thb": 2000.0},  # 1,500 -> 1,200
    ]
    small, medium = support_lines(policy, class_rows, requests)
    assert small.granted_thb == Decimal(2500)
    assert small.requested_thb == Decimal(3000)
    assert small.gap_thb == Decimal(500)
    assert small.label == "สพป. ขนาดเล็ก"
    assert medium.granted_thb == Decimal(1200)
    assert (medium.students_from, medium.students_to) == (121, 600)


def test_policy_file_errors_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[grant.small\] share must be 0 to 1"):
        parse_policy(
            {
                "size_classes": {
                    "primary": {"medium": 121, "large": 601, "extra_large": 1501},
                    "secondary": {"medium": 500, "large": 1500, "extra_large": 2500},
                },
                "grant": {
                    name: {"share": 2 if name == "small" else 0.5, "cap_thb": 1000}
                    for name in ("small", "medium", "large", "extra_large")
                },
            }
        )
    with pytest.raises(ConfigError, match="must rise"):
        parse_policy(
            {
                "size_classes": {
                    "primary": {"medium": 601, "large": 121, "extra_large": 1501},
                    "secondary": {"medium": 500, "large": 1500, "extra_large": 2500},
                },
                "grant": {},
            }
        )
    with pytest.raises(ConfigError, match="not found"):
        load_policy(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[grant\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_policy(broken)
