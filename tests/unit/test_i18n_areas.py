"""The per-area string modules merge into one table and cannot overwrite each other."""

from __future__ import annotations

import types

import pytest

from dashboard import i18n


def _area(name: str, vi: dict[str, str], en: dict[str, str]) -> types.ModuleType:
    module = types.ModuleType(name)
    module.VI = vi  # type: ignore[attr-defined]
    module.EN = en  # type: ignore[attr-defined]
    return module


def test_every_area_module_has_both_languages_with_the_same_keys() -> None:
    assert i18n.STRINGS["vi"].keys() == i18n.STRINGS["en"].keys()


def test_a_key_defined_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import pkgutil

    fake = [types.SimpleNamespace(name="a"), types.SimpleNamespace(name="b")]
    modules = {
        "dashboard.strings.a": _area("a", {"k": "một"}, {"k": "one"}),
        "dashboard.strings.b": _area("b", {"k": "hai"}, {"k": "two"}),
    }
    monkeypatch.setattr(pkgutil, "iter_modules", lambda _path: fake)
    monkeypatch.setattr(importlib, "import_module", lambda name: modules[name])
    table: dict[i18n.Lang, dict[str, str]] = {"vi": {}, "en": {}}
    with pytest.raises(RuntimeError, match=r"dashboard.strings.b redefines \['k'\]"):
        i18n._merge_areas(table)
    assert table["vi"] == {"k": "một"}
