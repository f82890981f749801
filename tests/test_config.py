"""Settings overrides: the one place where the CLI, the UI and the evaluation change settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.config import BACKENDS, Settings, settings_with


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"llm.backend": "extractive"}, {"llm.backend": "extractive"}),
        ({"retrieval.k": 8, "llm.model": None}, {"retrieval.k": 8, "llm.model": "gpt-4o-mini"}),
        ({"index_dir": "elsewhere", "progress": False}, {"index_dir": Path("elsewhere"), "progress": False}),
        ({"retrieval.k": "12"}, {"retrieval.k": 12}),
        ({}, {"llm.backend": "auto", "retrieval.k": 5}),
    ],
)
def test_settings_with__applies_nested_overrides_and_skips_none(overrides, expected):
    settings = settings_with(overrides, Settings())
    for key, value in expected.items():
        section, _, name = key.rpartition(".")
        assert getattr(getattr(settings, section) if section else settings, name) == value


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"llm.backend": "gpt"}, ValidationError),
        ({"retrieval.k": "many"}, ValidationError),
        ({"llm.temperatur": 0.5}, ValidationError),
        ({"colour": "red"}, ValueError),
        ({"progress.bar": 1}, ValueError),
    ],
)
def test_settings_with__refuses_unknown_or_invalid_values(overrides, error):
    with pytest.raises(error):
        settings_with(overrides, Settings())


def test_settings_with__leaves_the_given_settings_unchanged():
    original = Settings()
    changed = settings_with({"llm.backend": "local", "retrieval.k": 3}, original)
    assert (original.llm.backend, original.retrieval.k) == ("auto", 5)
    assert (changed.llm.backend, changed.retrieval.k) == ("local", 3)


def test_settings_with__reads_the_environment_when_no_settings_are_given(monkeypatch):
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__K", "7")
    assert settings_with({"llm.backend": "extractive"}).retrieval.k == 7


def test_backends__the_one_list_is_what_settings_accept():
    for name in BACKENDS:
        assert settings_with({"llm.backend": name}).llm.backend == name
