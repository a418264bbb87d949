"""``fieldcheck``: -v is taken before or after any sub-command, and limits must be positive."""

import pytest

from host_tools.cli import build_parser


@pytest.mark.parametrize(("argv", "verbose"), [
    (["alerts", "list"], False),
    (["-v", "alerts", "list"], True),
    (["alerts", "list", "-v"], True),
    (["server", "openapi", "-v"], True),
])
def test_verbose_anywhere(argv: list[str], verbose: bool) -> None:
    assert build_parser().parse_args(argv).verbose is verbose


@pytest.mark.parametrize("limit", ["-5", "-1", "0", "many"])
def test_a_limit_that_is_not_positive_is_refused(limit: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["alerts", "list", "--limit", limit])
