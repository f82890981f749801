"""Citations as pure steps: sentence splitting, [n] marker parsing, renumbering by first use, marker placement."""

from __future__ import annotations

import pytest

from assistant.citations import (
    attach_stray_markers,
    known_markers,
    normalise_markers,
    parse_markers,
    renumber,
    sentence_pieces,
    split_sentences,
    with_markers,
)

# ---- split_sentences ------------------------------------------------------------------------------

SPLITS = {
    "docstring_example": ("A works [1]. B fails, e.g. on CIFAR. C.", ["A works [1].", "B fails, e.g. on CIFAR.", "C."]),
    "eg_does_not_end_a_sentence": (
        "Models fail on hard data, e.g. ImageNet. They recover later.",
        ["Models fail on hard data, e.g. ImageNet.", "They recover later."],
    ),
    "ie_does_not_end_a_sentence": (
        "The optimiser resets momentum, i.e. The moments start again. It then trains.",
        ["The optimiser resets momentum, i.e. The moments start again.", "It then trains."],
    ),
    "et_al_does_not_end_a_sentence": (
        "We follow Smith et al. 2020 in this. Results improve.",
        ["We follow Smith et al. 2020 in this.", "Results improve."],
    ),
    "fig_does_not_end_a_sentence": (
        "See Fig. 3 for the curves. Then stop.",
        ["See Fig. 3 for the curves.", "Then stop."],
    ),
    "initial_does_not_end_a_sentence": (
        "Trained by J. Smith on GPUs. Then stop.",
        ["Trained by J. Smith on GPUs.", "Then stop."],
    ),
    "decimal_inside_a_sentence": (
        "It reaches 99.5% accuracy on CIFAR. Next we prune.",
        ["It reaches 99.5% accuracy on CIFAR.", "Next we prune."],
    ),
    "decimal_before_the_full_stop": (
        "Accuracy is 99.5%. The loss drops by 0.3 points.",
        ["Accuracy is 99.5%.", "The loss drops by 0.3 points."],
    ),
    "sentence_may_start_with_a_digit": ("The value is 3. 4 runs were made.", ["The value is 3.", "4 runs were made."]),
    "marker_after_the_full_stop_stays_with_its_sentence": (
        "Pruning helps. [2] Training slows.",
        ["Pruning helps. [2]", "Training slows."],
    ),
    "marker_after_the_last_full_stop_stays_with_its_sentence": (
        "Pruning helps. [2] Training slows. [1]",
        ["Pruning helps. [2]", "Training slows. [1]"],
    ),
    "adjacent_markers_after_the_full_stop": (
        "Pruning helps. [2][1] Training slows.",
        ["Pruning helps. [2][1]", "Training slows."],
    ),
    "spaced_markers_after_the_full_stop": (
        "Pruning helps. [2] [1] Training slows.",
        ["Pruning helps. [2] [1]", "Training slows."],
    ),
    "marker_starting_a_lowercase_sentence_is_not_moved": (
        "Pruning helps. [1] shows it.",
        ["Pruning helps.", "[1] shows it."],
    ),
    "list_and_range_markers_inside_sentences": (
        "Pruning helps [1, 2]. Training slows [1-3].",
        ["Pruning helps [1, 2].", "Training slows [1-3]."],
    ),
    "question_and_exclamation_marks": ("Is it true? Yes! It is.", ["Is it true?", "Yes!", "It is."]),
    "multiple_spaces_and_newlines_collapse": (
        "First   sentence.    Second\n  sentence.",
        ["First sentence.", "Second sentence."],
    ),
    "lowercase_after_full_stop_does_not_split": ("It works. then it fails.", ["It works. then it fails."]),
    "no_space_after_full_stop_does_not_split": ("It works.It fails.", ["It works.It fails."]),
    "no_final_punctuation": ("No final punctuation here", ["No final punctuation here"]),
    "abbreviation_at_the_very_end": ("We use SGD, Adam, etc.", ["We use SGD, Adam, etc."]),
    "empty_text": ("", []),
    "whitespace_only": ("  \n\t ", []),
}


@pytest.mark.parametrize("text, expected", SPLITS.values(), ids=SPLITS.keys())
def test_split_sentences__exact_output(text, expected):
    assert split_sentences(text) == expected


PIECES = {
    "keeps_spacing_and_newlines": ("A holds [1].  B, e.g. cats.\nD.", ["A holds [1].  ", "B, e.g. cats.\n", "D."]),
    "abbreviation_does_not_cut": ("Smith et al. show it. Then X.", ["Smith et al. show it. ", "Then X."]),
    "leading_space_stays_with_the_first": ("  Cats purr. Dogs bark.", ["  Cats purr. ", "Dogs bark."]),
    "empty_text": ("", []),
}


@pytest.mark.parametrize("text, expected", PIECES.values(), ids=PIECES.keys())
def test_sentence_pieces__join_back_into_the_text(text, expected):
    assert sentence_pieces(text) == expected
    assert "".join(sentence_pieces(text)) == text


@pytest.mark.parametrize("text", [text for text, _ in SPLITS.values()], ids=SPLITS.keys())
def test_sentence_pieces__cut_where_split_sentences_does(text):
    normal = " ".join(text.split())
    assert [p.strip() for p in sentence_pieces(normal) if p.strip()] == split_sentences(text)


# ---- parse_markers --------------------------------------------------------------------------------

MARKERS = {
    "single_marker": ("Stable-SPAM clips spikes [1].", ("Stable-SPAM clips spikes.", [1])),
    "comma_list": ("Stable-SPAM clips spikes [1, 2].", ("Stable-SPAM clips spikes.", [1, 2])),
    "comma_list_without_spaces": ("It holds [1,2, 3].", ("It holds.", [1, 2, 3])),
    "range_is_expanded": ("It holds [1-3].", ("It holds.", [1, 2, 3])),
    "en_dash_range_is_expanded": ("It holds [1–3].", ("It holds.", [1, 2, 3])),
    "reversed_range_keeps_both_ends": ("It holds [3-1].", ("It holds.", [3, 1])),
    "huge_range_keeps_both_ends": ("It holds [1-100].", ("It holds.", [1, 100])),
    "adjacent_markers_in_written_order": ("It holds [2][1].", ("It holds.", [2, 1])),
    "docstring_example": ("X holds [2][1, 3].", ("X holds.", [2, 1, 3])),
    "repeated_number_counted_once": ("It holds [1][1].", ("It holds.", [1])),
    "markers_inside_the_sentence": ("Pruning [1] and clipping [2] help.", ("Pruning and clipping help.", [1, 2])),
    "marker_after_the_full_stop": ("It holds. [2]", ("It holds.", [2])),
    "no_markers": ("It holds.", ("It holds.", [])),
    "spaces_inside_brackets_are_not_a_marker": ("It holds [ 1 ].", ("It holds [ 1 ].", [])),
    "bracketed_words_are_not_markers": ("It holds [citation needed].", ("It holds [citation needed].", [])),
}


@pytest.mark.parametrize("sentence, expected", MARKERS.values(), ids=MARKERS.keys())
def test_parse_markers__clean_text_and_numbers_in_order(sentence, expected):
    assert parse_markers(sentence) == expected


# ---- attach_stray_markers ------------------------------------------------------------------------

STRAYS = {
    "docstring_example": ([("A holds.", []), (".", [1]), ("B.", [2])], [("A holds.", [1]), ("B.", [2])]),
    "stray_numbers_join_the_previous_sentence_once": ([("A holds.", [1]), (".", [1, 2])], [("A holds.", [1, 2])]),
    "leading_stray_goes_to_the_next_sentence": ([(".", [1]), ("", [2]), ("A holds.", [3])], [("A holds.", [1, 2, 3])]),
    "only_strays_leave_nothing": ([(".", [1]), ("!", [2])], []),
    "sentences_with_words_are_unchanged": (
        [("A holds.", [1]), ("B fails.", [])],
        [("A holds.", [1]), ("B fails.", [])],
    ),
    "a_number_alone_is_a_word": ([("A holds.", [1]), ("42.", [2])], [("A holds.", [1]), ("42.", [2])]),
    "nothing": ([], []),
}


@pytest.mark.parametrize("parsed, expected", STRAYS.values(), ids=STRAYS.keys())
def test_attach_stray_markers__folds_wordless_sentences_into_a_neighbour(parsed, expected):
    assert attach_stray_markers(parsed) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        (
            "[1]. Stable-SPAM clips spikes. It resets momentum. [2].",
            [("Stable-SPAM clips spikes.", [1]), ("It resets momentum.", [2])],
        ),
        (
            "Stable-SPAM clips spikes. [1] [2]. It resets momentum [2].",
            [("Stable-SPAM clips spikes.", [1, 2]), ("It resets momentum.", [2])],
        ),
    ],
    ids=["leading-and-trailing-strays", "spaced-strays-with-their-own-full-stop"],
)
def test_split_parse_and_attach__model_style_marker_placement(raw, expected):
    assert attach_stray_markers([parse_markers(s) for s in split_sentences(raw)]) == expected


# ---- renumber -------------------------------------------------------------------------------------

RENUMBERS = {
    "docstring_example": ([[3], [1, 9, 3]], {1, 2, 3}, ([[1], [2, 1]], {3: 1, 1: 2}, 1)),
    "already_in_order": ([[1], [2], [1, 2]], {1, 2}, ([[1], [2], [1, 2]], {1: 1, 2: 2}, 0)),
    "first_use_order_not_number_order": ([[4, 2], [5]], {1, 2, 3, 4, 5}, ([[1, 2], [3]], {4: 1, 2: 2, 5: 3}, 0)),
    "every_unknown_marker_is_counted": ([[7], [7, 8], [1]], {1, 2}, ([[], [], [1]], {1: 1}, 3)),
    "all_unknown": ([[9], [0]], {1, 2}, ([[], []], {}, 2)),
    "uncited_sentences_stay_empty": ([[], [2], []], {1, 2}, ([[], [1], []], {2: 1}, 0)),
    "repeat_within_a_sentence_kept_once": ([[2, 2]], {2}, ([[1]], {2: 1}, 0)),
    "no_sentences": ([], {1}, ([], {}, 0)),
}


@pytest.mark.parametrize("cited, valid, expected", RENUMBERS.values(), ids=RENUMBERS.keys())
def test_renumber__drops_unknown_and_numbers_by_first_use(cited, valid, expected):
    assert renumber(cited, valid) == expected


# ---- with_markers ---------------------------------------------------------------------------------

WITH_MARKERS = {
    "docstring_example": ("A.", [1, 2], "A [1][2]."),
    "before_the_full_stop": ("Stable-SPAM clips spikes.", [1], "Stable-SPAM clips spikes [1]."),
    "before_a_question_mark": ("Does it hold?", [3], "Does it hold [3]?"),
    "before_an_exclamation_mark": ("It holds!", [2], "It holds [2]!"),
    "appended_without_final_punctuation": ("It holds", [1], "It holds [1]"),
    "no_numbers_leaves_text_unchanged": ("It holds.", [], "It holds."),
}


@pytest.mark.parametrize("text, numbers, expected", WITH_MARKERS.values(), ids=WITH_MARKERS.keys())
def test_with_markers__places_markers_before_final_punctuation(text, numbers, expected):
    assert with_markers(text, numbers) == expected


@pytest.mark.parametrize("sentence", ["Stable-SPAM clips spikes [2][1].", "It holds [3].", "No markers here."])
def test_with_markers__inverts_parse_markers(sentence):
    assert with_markers(*parse_markers(sentence)) == sentence


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Stable-SPAM clips gradients [1, 2].", [("Stable-SPAM clips gradients.", [1, 2])]),
        ("Stable-SPAM clips gradients [1-3].", [("Stable-SPAM clips gradients.", [1, 2, 3])]),
        ("Stable-SPAM clips gradients (1).", [("Stable-SPAM clips gradients.", [1])]),
        (
            "Stable-SPAM clips gradients (1, 3). It resets momentum (2).",
            [("Stable-SPAM clips gradients.", [1, 3]), ("It resets momentum.", [2])],
        ),
        ("Stable-SPAM clips gradients [Source 1].", [("Stable-SPAM clips gradients.", [1])]),
        ("Stable-SPAM clips gradients (Source 2).", [("Stable-SPAM clips gradients.", [2])]),
        ("Stable-SPAM clips gradients [Sources 1 and 3].", [("Stable-SPAM clips gradients.", [1, 3])]),
        ("Source 1 shows that gradients are clipped.", [("Source 1 shows that gradients are clipped.", [1])]),
        ("According to [2], gradients are clipped.", [("Gradients are clipped.", [2])]),
        ("Gradients are clipped [1], [2].", [("Gradients are clipped.", [1, 2])]),
        ("It was published in 2023 (2023).", [("It was published in 2023 (2023).", [])]),
        ("It uses (1) clipping and (2) resets.", [("It uses (1) clipping and (2) resets.", [])]),
        ("Gradients are clipped [Source 9].", [("Gradients are clipped [Source 9].", [])]),
        ("Gradients are clipped.", [("Gradients are clipped.", [])]),
    ],
    ids=[
        "comma-list",
        "range",
        "parenthesised",
        "parenthesised-list-then-single",
        "bracketed-source-word",
        "parenthesised-source-word",
        "sources-and",
        "bare-source-name-keeps-its-words",
        "according-to-lead-in",
        "separate-brackets",
        "a-year-is-not-a-marker",
        "an-enumeration-is-not-a-marker",
        "out-of-range-left-alone",
        "no-marker",
    ],
)
def test_normalise_then_parse__marker_variants_of_small_models(raw, expected):
    text = normalise_markers(raw, 3)
    assert attach_stray_markers([parse_markers(s) for s in split_sentences(text)]) == expected


# ---- known markers and citing once ----------------------------------------------------------------
@pytest.mark.parametrize(
    "cited, valid, expected",
    [
        ([[3], [1, 9, 3, 3]], {1, 2, 3}, ([[3], [1, 3]], 1)),
        ([[], [0, 4]], {1, 2, 3}, ([[], []], 2)),
        ([[2, 1]], {1, 2}, ([[2, 1]], 0)),
    ],
)
def test_known_markers__drops_unknown_sources_and_repeats_keeping_source_numbers(cited, valid, expected):
    assert known_markers(cited, valid) == expected


def test_cite__numbers_sources_once_by_first_use_with_their_evidence():
    from assistant.citations import cite
    from assistant.records import Hit, Sentence

    sources = [Hit(paper_id=f"p{i}", title=f"T{i}", abstract="", score=0.0, rank=i) for i in (1, 2, 3)]
    sentences = [Sentence(text="A.", citations=[3]), Sentence(text="B.", citations=[1, 3])]
    citations = cite(sentences, sources, {3: ["e3"], 1: ["e1"]})
    assert [s.citations for s in sentences] == [[1], [2, 1]]
    assert [(c.number, c.paper_id, c.evidence) for c in citations] == [(1, "p3", ["e3"]), (2, "p1", ["e1"])]
