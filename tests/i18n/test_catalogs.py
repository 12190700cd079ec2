"""The message catalogs match the code: Babel's extraction over bot/ yields exactly each catalog's messages (none
missing, none stale), every Vietnamese message is translated (plural forms too), and the shipped .mo files are the
compiled .po files."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, EXTRACT_KEYWORDS, LANGUAGES, LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
MsgId = str | tuple[str, str]


def _extracted() -> set[MsgId]:
    found: set[MsgId] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")], keywords=EXTRACT_KEYWORDS
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def _catalog(lang: str):
    with (LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        return read_po(f, locale=lang)


def _ids(catalog) -> set[MsgId]:
    return {m.id if isinstance(m.id, str) else (m.id[0], m.id[1]) for m in catalog if m.id}


def _fields(text: str) -> set[str]:
    return set(re.findall(r"{(\w*)}", text))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_holds_exactly_the_extracted_messages(lang: str) -> None:
    extracted, catalog = _extracted(), _ids(_catalog(lang))
    assert not extracted - catalog, f"missing from {lang} (make i18n-update, then translate)"
    assert not catalog - extracted, f"stale in {lang} (make i18n-update)"


def test_every_vietnamese_message_is_translated_with_the_same_placeholders() -> None:
    catalog = _catalog("vi")
    assert catalog.num_plurals == 1, "Vietnamese has one plural form"
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(s.strip() for s in strings), f"untranslated: {ids[0]!r}"
        assert not message.fuzzy, f"fuzzy (check and unflag): {ids[0]!r}"
        for s in strings:
            assert _fields(s) == _fields(ids[-1]), f"placeholders differ: {ids[0]!r} -> {s!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_shipped_mo_is_the_compiled_po(lang: str) -> None:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    for message in _catalog(lang):
        if not message.id or not (message.string if isinstance(message.string, str) else any(message.string)):
            continue
        if isinstance(message.id, str):
            assert compiled.gettext(message.id) == message.string, "make i18n-compile"
        else:
            assert compiled.ngettext(message.id[0], message.id[1], 1) == message.string[0], "make i18n-compile"
