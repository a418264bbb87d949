"""The wire contract exists once: every code the server sends is an ``ErrorCode`` with a status."""

import ast
from pathlib import Path

import pytest

from fieldcheck_protocol import wire
from fieldcheck_protocol.record import Code as RecordCode
from fieldcheck_protocol.wire import ErrorCode, IngestAnswer, RefusalAnswer, RejectedItem

SERVER = Path(__file__).resolve().parents[2] / "fieldcheck_server"
#: Constructors whose first code argument goes on the wire.
CODE_CARRIERS = {"Refused": 0, "Rejected": 1}


def _code_arguments() -> list[tuple[str, ast.expr]]:
    found = []
    for path in sorted(SERVER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                index = CODE_CARRIERS.get(node.func.id)
                if index is not None and len(node.args) > index:
                    found.append((f"{path.name}:{node.lineno}", node.args[index]))
    return found


def test_the_server_sends_only_enum_codes() -> None:
    """Every refusal and rejection in the server names its code as ``ErrorCode.X`` (or converts
    a record verifier's code with ``ErrorCode(...)``), never as a string of its own."""
    arguments = _code_arguments()
    assert len(arguments) >= 15  # the walk found the refusal paths
    for where, argument in arguments:
        if isinstance(argument, ast.Attribute):
            assert isinstance(argument.value, ast.Name) and argument.value.id == "ErrorCode", where
            assert argument.attr in ErrorCode.__members__, where
        else:
            assert isinstance(argument, ast.Call), where
            assert isinstance(argument.func, ast.Name) and argument.func.id == "ErrorCode", where


def test_no_code_is_spelled_as_a_string_in_the_server() -> None:
    values = {code.value for code in ErrorCode if code.value not in RecordCode.__members__}
    for path in sorted(SERVER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in values, f"{path.name}:{node.lineno} {node.value!r}"


def test_every_record_verifier_code_is_a_wire_code() -> None:
    assert {code.value for code in RecordCode} <= {code.value for code in ErrorCode}


def test_request_codes_have_a_status_and_the_device_a_hint() -> None:
    item_codes = {ErrorCode.FORK, ErrorCode.GAP, ErrorCode.CHAIN_MISMATCH}
    item_codes |= {ErrorCode(code.value) for code in RecordCode}
    assert set(wire.STATUS) == set(ErrorCode) - item_codes
    assert all(400 <= status < 500 for status in wire.STATUS.values())
    assert "fieldcheck device reinstate" in wire.hint_for("device_revoked")
    assert "fieldcheck alerts list" in wire.hint_for("no_such_code")


def test_answers_round_trip_through_json() -> None:
    answer = IngestAnswer(4, 2, 1, (RejectedItem(5, "gap", "seq 5 arrived"),))
    assert IngestAnswer.from_json(answer.to_json()) == answer
    refusal = RefusalAnswer("unknown_device", "not registered")
    assert RefusalAnswer.from_json(refusal.to_json(), 401) == refusal
    assert RefusalAnswer.from_json({"detail": "Not Found"}, 404).code == "http_404"


@pytest.mark.parametrize("body", [[], "text", {"rejected": [{"seq": 1}]}, {"acked_seq": "x"}])
def test_an_unreadable_answer_is_a_value_error(body: object) -> None:
    with pytest.raises(ValueError):
        IngestAnswer.from_json(body)
