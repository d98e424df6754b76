from __future__ import annotations

import json

import pytest

from campaigns.jsonsafe import MAX_DEPTH, too_deep


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_nesting_up_to_the_limit_is_taken_and_one_more_level_is_refused():
    assert too_deep(_nested(MAX_DEPTH)) is None
    assert json.loads(_nested(MAX_DEPTH))  # and it parses: the limit is below the parser's own
    assert too_deep(_nested(MAX_DEPTH + 1)) == f"arrays and objects are nested more than {MAX_DEPTH} levels deep"
    assert too_deep(b'{"a": ' * 5000 + b"1" + b"}" * 5000)  # objects count as arrays do


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"text": "[" * 5000, "quoted": '\\"[{' * 500}).encode(),  # brackets inside strings do not nest
        json.dumps([{"event": "open", "n": n} for n in range(5000)]).encode(),  # wide, not deep: an ESP batch
        b"tags=" + b"[" * 5000,  # a form body: not JSON, its brackets are text
        b"",
    ],
)
def test_brackets_that_do_not_nest_are_not_depth(raw):
    assert too_deep(raw) is None
