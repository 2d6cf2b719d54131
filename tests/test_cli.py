"""app/cli.py in process: the argument types refuse bad numbers with a usage error (exit 2) naming what was
expected; the subcommands run in a subprocess are in tests/server/test_cli.py."""

from __future__ import annotations

import pytest

from app.cli import build_parser


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["rotate-keys", "--batch-size", "0"], "a whole number of at least 1"),
        (["rotate-keys", "--batch-size", "1.5"], "a whole number of at least 1"),
        (["healthcheck", "--timeout", "0", "http://127.0.0.1"], "seconds above 0 and at most 300"),
        (["healthcheck", "--timeout", "nan", "http://127.0.0.1"], "seconds above 0 and at most 300"),
        (["healthcheck", "--timeout", "301", "http://127.0.0.1"], "seconds above 0 and at most 300"),
    ],
)
def test_bad_numbers_are_usage_errors(args, expected, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(args)
    assert exited.value.code == 2 and expected in capsys.readouterr().err


def test_good_numbers_are_parsed():
    assert build_parser().parse_args(["rotate-keys", "--batch-size", "20"]).batch_size == 20
    assert build_parser().parse_args(["healthcheck", "--timeout", "2.5", "http://127.0.0.1"]).timeout == 2.5
