"""Matchers compare as a user would and report expected vs actual."""

from __future__ import annotations

from crmproof.expect import judge
from crmproof.models import Expectation


def test_numbers_compare_by_value() -> None:
    assert judge(Expectation(value=None, equals=1500), "1500.00").ok
    assert not judge(Expectation(value=None, equals="won"), "Won").ok


def test_failure_says_expected_and_actual() -> None:
    verdict = judge(Expectation(value=None, equals="Pied Piper"), "Hooli")
    assert not verdict.ok
    assert verdict.message == "expected 'Pied Piper', got 'Hooli'"


def test_find_count_and_fields_on_every_hit() -> None:
    hits = [{"stage": "posted", "total": 1500.0}, {"stage": "draft", "total": 10}]
    assert judge(Expectation(count=2), hits).ok
    verdict = judge(Expectation(fields={"stage": "posted"}), hits)
    assert not verdict.ok and verdict.expected == "item 1.stage 'posted'"
    assert judge(Expectation(fields={"total": {"greater_than": 5}}), hits).ok


def test_exists_on_a_missing_record() -> None:
    assert judge(Expectation(exists=False), None).ok
    assert not judge(Expectation(exists=True), None).ok


def test_only_means_exactly_these_records() -> None:
    hits = [{"id": 7, "name": "mine"}, {"id": "9", "name": "someone else's"}]
    assert judge(Expectation(only=["9", "7"]), hits).ok
    verdict = judge(Expectation(only=["7"]), hits)
    assert not verdict.ok
    assert verdict.message == "expected exactly the records ['7'], got records ['7', '9']"
