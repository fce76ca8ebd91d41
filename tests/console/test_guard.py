"""The Host names a console answers to, per bind address (the DNS-rebinding rule)."""

from __future__ import annotations

import pytest
from llmspell_sessions.console.guard import allowed_hosts


@pytest.mark.parametrize(
    ("bound", "expected"),
    [
        ("127.0.0.1:8080", {"127.0.0.1:8080", "localhost:8080", "[::1]:8080"}),
        ("localhost:9000", {"127.0.0.1:9000", "localhost:9000", "[::1]:9000"}),
        ("[::1]:81", {"127.0.0.1:81", "localhost:81", "[::1]:81"}),
        ("10.1.2.3:8080", {"10.1.2.3:8080"}),
        ("console.internal:443", {"console.internal:443"}),
    ],
)
def test_a_bound_address_answers_to_its_own_names(bound: str, expected: set[str]) -> None:
    assert allowed_hosts(bound) == expected


@pytest.mark.parametrize("bound", ["0.0.0.0:8080", "[::]:8080"])
def test_a_wildcard_bind_cannot_list_its_names(bound: str) -> None:
    assert allowed_hosts(bound) is None
