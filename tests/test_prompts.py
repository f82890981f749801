"""Prompt files: every file in prompts/ loads and renders with exactly its placeholders, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.prompts import CANNOT_ANSWER, PromptError, available, render, template, variables

EXPECTED_VARIABLES = {
    "answer": {"sources", "question", "max_sentences"},
    "condense": {"history", "question"},
    "judge": {"source", "claim"},
    "source": {"number", "title", "abstract"},
    "system": {"cannot_answer"},
}


def test_available__lists_every_prompt_file():
    source_folder = Path(__file__).resolve().parent.parent / "prompts"  # the repository's prompts/, what ships
    assert available() == sorted(p.stem for p in source_folder.glob("*.txt"))
    assert set(available()) == set(EXPECTED_VARIABLES)


@pytest.mark.parametrize("name", available())
def test_variables__are_the_placeholders_the_code_fills(name):
    assert variables(name) == EXPECTED_VARIABLES[name]


@pytest.mark.parametrize("name", available())
def test_render__fills_every_placeholder_with_exactly_its_variables(name):
    values = {var: f"<value of {var}>" for var in variables(name)}
    text = render(name, **values)
    for value in values.values():
        assert value in text
    assert "{" not in text and "}" not in text  # no placeholder left unfilled
    assert text == template(name).format(**values)


@pytest.mark.parametrize("name", available())
def test_render__missing_variable_raises_prompt_error_naming_it(name):
    values = {var: "x" for var in variables(name)}
    dropped = sorted(values)[0]
    del values[dropped]
    with pytest.raises(PromptError, match=dropped):
        render(name, **values)


@pytest.mark.parametrize("name", available())
def test_render__unknown_variable_raises_prompt_error_naming_it(name):
    values = {var: "x" for var in variables(name)}
    with pytest.raises(PromptError, match="surplus_value"):
        render(name, surplus_value="x", **values)


def test_render__unknown_prompt_name_raises_prompt_error():
    with pytest.raises(PromptError, match="no prompt file"):
        render("no-such-prompt")


def test_system_prompt__contains_the_refusal_phrase_verbatim():
    system = render("system", cannot_answer=CANNOT_ANSWER)
    assert CANNOT_ANSWER in system
    assert system.rstrip().endswith(CANNOT_ANSWER)


def test_source_prompt__numbers_titles_and_delimits_the_abstract():
    text = render("source", number=3, title="Stable-SPAM", abstract="We clip spikes.")
    assert text.rstrip("\n") == "[3] Title: Stable-SPAM\nAbstract: <<<We clip spikes.>>>"


def test_render__values_with_braces_are_inserted_literally():
    # abstracts hold LaTeX such as $l_{2}$; they are values, never re-parsed as placeholders
    text = render("source", number=1, title="T", abstract="norm $l_{2}$ and {sources}")
    assert "norm $l_{2}$ and {sources}" in text
