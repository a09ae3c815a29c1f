"""Large list answers are parsed once per distinct body; Nue is still asked every time."""

from __future__ import annotations

import logging

import httpx
import pytest

from orders import nue

from .conftest import ACME_ID, GLOBEX_ID, ok, order_json


@pytest.fixture(autouse=True)
def _empty_memo():
    nue.PARSED_ANSWERS.clear()
    yield
    nue.PARSED_ANSWERS.clear()


def _request(acme) -> nue.CustomerNue:
    """A new scope, as each request gets (its own per-request memo)."""
    return nue.CustomerNue(acme)


def _orders(count: int, customer_id: str = ACME_ID) -> list[dict[str, object]]:
    return [
        order_json(f"00000000-0000-4000-8000-{n:012d}", customer_id, number=n)
        for n in range(1, count + 1)
    ]


@pytest.fixture
def parses(monkeypatch) -> list[object]:
    seen: list[object] = []
    parse = nue.Order.parse

    def counting(raw: object) -> nue.Order:
        seen.append(raw)
        return parse(raw)

    monkeypatch.setattr(nue.Order, "parse", counting)
    return seen


def test_the_same_large_answer_is_fetched_every_time_and_parsed_once(acme, nue_mock, parses):
    route = nue_mock.get("/orders").mock(return_value=ok(_orders(60)))

    first = _request(acme).orders()
    again = _request(acme).orders()

    assert route.call_count == 2  # nothing is served without asking Nue
    assert len(parses) == 60
    assert again == first
    assert again is not first  # each caller gets its own list


def test_a_changed_answer_is_parsed_again(acme, nue_mock, parses):
    nue_mock.get("/orders").mock(side_effect=[ok(_orders(60)), ok(_orders(61))])

    assert len(_request(acme).orders()) == 60
    assert len(_request(acme).orders()) == 61
    assert len(parses) == 60 + 61


def test_a_small_answer_is_parsed_every_time(acme, nue_mock, parses):
    nue_mock.get("/orders").mock(return_value=ok(_orders(2)))

    _request(acme).orders()
    _request(acme).orders()

    assert len(parses) == 4


def test_another_customers_orders_are_dropped_and_alerted_on_every_request(acme, nue_mock, caplog):
    body = _orders(59) + _orders(1, GLOBEX_ID)
    nue_mock.get("/orders").mock(return_value=ok(body))

    with caplog.at_level(logging.ERROR, logger="orders.nue.security"):
        first = _request(acme).orders()
        again = _request(acme).orders()

    assert len(first) == len(again) == 59
    assert all(order.customer_id == ACME_ID for order in again)
    assert len([r for r in caplog.records if r.name == "orders.nue.security"]) == 2


def test_a_failed_answer_is_not_remembered(acme, nue_mock, parses):
    nue_mock.get("/orders").mock(
        side_effect=[httpx.Response(404, json={"message": "gone"}), ok(_orders(60))]
    )

    with pytest.raises(nue.NueNotFound):
        _request(acme).orders()
    assert len(_request(acme).orders()) == 60


def test_the_memo_keeps_the_most_recently_used_within_its_budget():
    memo = nue.ParsedAnswers(budget=100)
    memo.put("a", ("A",), 40)
    memo.put("b", ("B",), 40)
    assert memo.get("a") == ("A",)  # now the most recently used
    memo.put("c", ("C",), 40)  # over budget: the least recently used ("b") goes

    assert memo.get("b") is None
    assert memo.get("a") == ("A",)
    assert memo.get("c") == ("C",)

    memo.put("huge", ("H",), 101)  # larger than the whole budget: never kept
    assert memo.get("huge") is None
    assert memo.get("a") == ("A",)
