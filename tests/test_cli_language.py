"""The command line speaks its operator's language: their POSIX locale (LC_ALL, LC_MESSAGES, LANG), else
CLEANUP_LANGUAGE. Run as a real subprocess against a moto server over HTTP, like tests/test_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import build_parser, cli_language
from bot.demo.stack import SeededStack
from tests.test_cli import run, stack, table_names  # noqa: F401  (fixture)

VIETNAMESE = {"LANG": "vi_VN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "vi_VN.UTF-8"}, "vi"),
        ({"LANG": "en_US.UTF-8", "CLEANUP_LANGUAGE": "vi"}, "en"),  # the person's own locale wins
        ({"LANG": "C.UTF-8", "CLEANUP_LANGUAGE": "vi"}, "vi"),  # no language of ours: the configured one
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({"LC_ALL": "en_GB.UTF-8", "LC_MESSAGES": "vi_VN", "LANG": "vi_VN"}, "en"),  # POSIX precedence
        ({"LC_ALL": "", "LC_MESSAGES": "vi_VN", "LANG": "en_US"}, "vi"),
        ({"CLEANUP_LANGUAGE": "vi"}, "vi"),
        ({}, "en"),
    ],
)
def test_the_language_follows_the_person(env: dict[str, str], expected: str) -> None:
    assert cli_language(env) == expected


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", ["usage: python -m bot scan", "positional arguments:", "options:", "profile name, e.g. dogcat"]),
        ("vi", ["cách dùng: python -m bot scan", "tham số vị trí:", "tùy chọn:", "tên profile, ví dụ dogcat"]),
    ],
)
def test_the_help_is_in_the_operators_language(lang: str, said: list[str]) -> None:
    scan = next(a for a in build_parser(lang)._actions if a.dest == "command").choices["scan"]  # type: ignore[index]
    shown = scan.format_help()
    assert all(words in shown for words in said), shown
    top = build_parser(lang).format_help()
    assert ("Tìm và xóa tài nguyên AWS" in top) == (lang == "vi"), top


def test_lang_vi_gives_a_vietnamese_scan_and_deletion(stack: SeededStack) -> None:  # noqa: F811
    scanned = run("scan", "dogcat", env=VIETNAMESE)
    assert scanned.returncode == 0, scanned.stderr
    out = scanned.stdout
    assert "14 cần xoá, khoảng 86,80\xa0US$/tháng khi còn chạy" in out, out
    assert "Hồ sơ dogcat trong tài khoản" in out and "LÝ DO" in out and "endpoint SageMaker" in out
    assert "dogcat-endpoint-a1b2c3d4: trạng thái InService" in out  # AWS's own status word stays
    assert "to delete" not in out and "WHY" not in out
    assert "model mà endpoint configuration SageMaker" in out, out  # why it is in the plan: Vietnamese too

    refused = run("delete", "dogcat", stdin="xác nhận\n", env=VIETNAMESE)
    assert refused.returncode == 3 and "Chưa xác nhận: không xoá gì." in refused.stdout
    assert "Gõ confirm để xoá 14 tài nguyên" in refused.stdout  # the word to type stays confirm
    assert "PredictionHistory" in table_names()

    done = run("delete", "dogcat", stdin="confirm\n", env=VIETNAMESE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Hoàn tất sau " in done.stdout and "giây: 14 đã xoá" in done.stdout, done.stdout
    assert "(đã ghi vào kho trạng thái)" in done.stdout and "đã xoá" in done.stdout
    assert "Done in" not in done.stdout and "recorded in the state store" not in done.stdout
    assert table_names() == ["PredictionHistoryArchive"]

    again = run("delete", "dogcat", stdin="confirm\n", env=VIETNAMESE)
    assert again.returncode == 0 and "Không có gì cần xoá." in again.stdout


def test_vietnamese_errors_keep_the_english_reason(moto_server: str) -> None:
    done = run("scan", "catdog", env=VIETNAMESE)
    assert done.returncode == 2
    assert "lỗi: unknown profile 'catdog'" in done.stderr and "Traceback" not in done.stderr


def test_cleanup_language_is_the_fallback_and_savings_follow(moto_server: str, tmp_path: Path) -> None:
    env = {"LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": "", "CLEANUP_LANGUAGE": "vi"}
    done = run("savings", env={**env, "CLEANUP_STATE_DB": f"{tmp_path}/none.sqlite3"})
    assert done.returncode == 0 and "Chưa có lần dọn dẹp nào được ghi lại" in done.stdout
