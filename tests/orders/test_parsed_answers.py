"""A large list answer is parsed again only when its bytes change; Nue is asked every time."""

from __future__ import annotations

import logging

import httpx
import pytest

from orders import nue
from orders.listing import Arrangement
from orders.nue.transport import PARSED_ANSWERS, ParsedAnswer, ParsedAnswers
from orders.scope import CustomerNue

from .conftest import ACME_ID, GLOBEX_ID, ok, order_json


@pytest.fixture(autouse=True)
def _empty_memo():
    PARSED_ANSWERS.clear()
    yield
    PARSED_ANSWERS.clear()


def _request(acme) -> CustomerNue:
    """A new scope, as each request gets (its own per-request memo), in the default dialect:
    these tests have no database to read a capability record from."""
    return CustomerNue(acme, dialect=nue.DEFAULT_DIALECT)


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

    with pytest.raises(nue.NueProtocolError):  # a list is never "not found"
        _request(acme).orders()
    assert len(_request(acme).orders()) == 60


def test_the_same_bytes_for_another_question_are_parsed_for_it(acme, nue_mock, parses):
    nue_mock.get("/orders").mock(return_value=ok(_orders(60)))

    _request(acme).orders()
    _request(acme).orders(status="draft")  # another query, so another question

    assert len(parses) == 120


def test_only_the_last_answer_to_a_question_is_kept(acme, nue_mock, parses):
    nue_mock.get("/orders").mock(
        side_effect=[ok(_orders(60)), ok(_orders(61)), ok(_orders(60)), ok(_orders(60))]
    )

    for _ in range(4):
        _request(acme).orders()

    assert len(parses) == 60 + 61 + 60  # the fourth answer is the third's bytes


def _kept(memo: ParsedAnswers, key: str) -> object:
    latest = memo.latest(key)
    return None if latest is None else latest[1]


def test_the_memo_keeps_the_most_recently_used_within_its_budget():
    memo = ParsedAnswers(budget=100)
    memo.put("a", b"a" * 40, ("A",))
    memo.put("b", b"b" * 40, ("B",))
    assert _kept(memo, "a") == ("A",)  # now the most recently used
    memo.put("c", b"c" * 40, ("C",))  # over budget: the least recently used ("b") goes

    assert _kept(memo, "b") is None
    assert _kept(memo, "a") == ("A",)
    assert _kept(memo, "c") == ("C",)

    memo.put("huge", b"h" * 101, ("H",))  # larger than the whole budget: never kept
    assert _kept(memo, "huge") is None
    assert _kept(memo, "a") == ("A",)


def test_a_new_answer_replaces_the_old_and_the_budget_counts_it_once():
    memo = ParsedAnswers(budget=100)
    memo.put("a", b"a" * 40, ("A",))
    memo.put("a", b"b" * 60, ("B",))
    memo.put("c", b"c" * 40, ("C",))

    assert memo.latest("a") == (b"b" * 60, ("B",))
    assert _kept(memo, "c") == ("C",)


class _Chunks(httpx.SyncByteStream):
    """A body that arrives in pieces, as a large answer does over a socket."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    def __iter__(self):
        yield from self.chunks


def _client(*chunks: bytes, max_body_bytes: int = nue.MAX_BODY_BYTES) -> nue.NueClient:
    return nue.NueClient(
        "https://nue.test",
        "k",
        transport=httpx.MockTransport(lambda request: httpx.Response(200, stream=_Chunks(*chunks))),
        max_body_bytes=max_body_bytes,
    )


def _body(client: nue.NueClient, expected: bytes | None) -> bytes:
    status, body, _retry_after = client._send("GET", "/orders", None, None, {}, expected)
    assert status == 200
    return body


def test_an_answer_that_arrives_as_the_expected_bytes_is_those_very_bytes():
    expected = b"abcdefghij" * 3

    body = _body(_client(expected[:7], expected[7:19], expected[19:]), expected)

    assert body is expected  # neither joined nor compared again after the last chunk


@pytest.mark.parametrize(
    ("chunks", "answer"),
    [
        ((b"abcdefghij", b"abcdeXghij", b"abcdefghij"), b"abcdefghijabcdeXghijabcdefghij"),
        ((b"Xbcdefghij", b"abcdefghij", b"abcdefghij"), b"Xbcdefghijabcdefghijabcdefghij"),
        ((b"abcdefghij" * 3, b"!"), b"abcdefghij" * 3 + b"!"),  # longer
        ((b"abcdefghij" * 2 + b"abcde", b"fghij!"), b"abcdefghij" * 3 + b"!"),  # runs past it
        ((b"abcdefghij", b"", b"abcde"), b"abcdefghijabcde"),  # shorter: a prefix
        ((), b""),
    ],
    ids=["middle", "first-byte", "longer", "straddling-the-end", "shorter", "empty"],
)
def test_an_answer_that_differs_from_the_expected_bytes_is_its_own(chunks, answer):
    expected = b"abcdefghij" * 3

    body = _body(_client(*chunks), expected)

    assert body == answer
    assert body is not expected


def test_an_answer_with_nothing_expected_is_its_chunks_joined():
    assert _body(_client(b"abc", b"def"), None) == b"abcdef"


def test_a_huge_answer_is_refused_even_while_it_matches():
    expected = b"x" * 4096

    with pytest.raises(nue.NueProtocolError, match="larger"):
        _body(_client(expected[:1024], expected[1024:2048], max_body_bytes=1500), expected)


def test_an_answer_that_matches_across_an_empty_chunk_is_the_expected_bytes():
    expected = b"abcdefghij" * 3

    assert _body(_client(expected[:10], b"", expected[10:]), expected) is expected


def test_the_same_bytes_with_an_error_status_are_an_error_not_the_kept_parse(acme, nue_mock):
    body = ok(_orders(60)).content
    nue_mock.get("/orders").mock(
        side_effect=[httpx.Response(200, content=body), httpx.Response(404, content=body)]
    )

    assert len(_request(acme).orders()) == 60
    with pytest.raises(nue.NueProtocolError):  # a list is never "not found"
        _request(acme).orders()


def test_an_unchanged_answer_after_a_retry_is_not_parsed_again(acme, parses):
    body = ok(_orders(60)).content
    answers = iter(
        [
            httpx.Response(200, content=body),
            httpx.Response(503, content=b"busy"),
            httpx.Response(200, stream=_Chunks(body[:7000], body[7000:])),
        ]
    )
    client = nue.NueClient(
        "https://nue.test",
        "k",
        transport=httpx.MockTransport(lambda request: next(answers)),
        sleep=lambda seconds: None,
    )

    first = CustomerNue(acme, client).orders()
    again = CustomerNue(acme, client).orders()  # a 503, then the same bytes

    assert len(parses) == 60
    assert again == first


def test_an_unchanged_answer_in_pieces_is_not_parsed_again(acme, parses):
    body = ok(_orders(60)).content
    client = _client(body[:5000], body[5000:30000], body[30000:])

    first = CustomerNue(acme, client).orders()
    again = CustomerNue(acme, client).orders()

    assert len(parses) == 60
    assert again == first


def _by_number(descending: bool, calls: list[bool]) -> Arrangement[nue.Order]:
    def arrange(orders):
        calls.append(descending)
        return sorted(orders, key=lambda o: o.order_number, reverse=descending)

    return Arrangement(("number", descending), arrange)


def test_an_answer_is_arranged_once_per_arrangement(acme, nue_mock):
    nue_mock.get("/orders").mock(side_effect=[ok(_orders(60))] * 3 + [ok(_orders(61))])
    calls: list[bool] = []

    newest = _request(acme).orders(arrangement=_by_number(True, calls))
    again = _request(acme).orders(arrangement=_by_number(True, calls))
    oldest = _request(acme).orders(arrangement=_by_number(False, calls))
    changed = _request(acme).orders(arrangement=_by_number(True, calls))

    assert calls == [True, False, True]  # the same answer and key: not arranged again
    numbers = [order.order_number for order in newest]
    assert numbers == sorted(numbers, reverse=True)
    assert again == newest
    assert oldest == newest[::-1]
    assert len(changed) == 61
    assert changed[0].order_number == "O-00000061"


def test_a_caller_changing_its_arranged_list_changes_no_one_elses(acme, nue_mock):
    nue_mock.get("/orders").mock(return_value=ok(_orders(60)))
    calls: list[bool] = []

    first = _request(acme).orders(arrangement=_by_number(True, calls))
    first.clear()

    assert len(_request(acme).orders(arrangement=_by_number(True, calls))) == 60


def test_another_customers_orders_are_never_arranged_and_alerted_every_time(acme, nue_mock, caplog):
    nue_mock.get("/orders").mock(return_value=ok(_orders(59) + _orders(1, GLOBEX_ID)))
    calls: list[bool] = []

    with caplog.at_level(logging.ERROR, logger="orders.nue.security"):
        first = _request(acme).orders(arrangement=_by_number(True, calls))
        again = _request(acme).orders(arrangement=_by_number(True, calls))

    assert len(first) == len(again) == 59
    assert all(order.customer_id == ACME_ID for order in again)
    assert len([r for r in caplog.records if r.name == "orders.nue.security"]) == 2


def test_a_parse_keeps_only_its_latest_derivations():
    answer = ParsedAnswer((3, 1, 2))
    for n in range(ParsedAnswer.DERIVED_LIMIT + 1):
        answer.derive(n, lambda items, n=n: tuple(sorted(items))[: n % 3])
    computed: list[int] = []

    def count(items: tuple[int, ...]) -> tuple[int, ...]:
        computed.append(1)
        return tuple(sorted(items))

    answer.derive(ParsedAnswer.DERIVED_LIMIT, count)  # still kept
    assert computed == []
    assert answer.derive(0, count) == (1, 2, 3)  # the oldest went
    assert computed == [1]
