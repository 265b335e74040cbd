"""Masked-language-model quality: the pseudo-perplexity of BERT-mini pre-trained here and of
BERT-tiny distilled from it (perf_tests/models.toml, docs/perplexity.md, docs/distillation.md).

Each is scored on the first 64 sentences of the built-in topics validation split, every real
token masked in turn; the score is compared with its baseline sentence by sentence (a paired
sampling band), so an unchanged model passes every time while perturbed weights, another
tokenizer or truncated input fail (tests/integration/test_perplexity_gates.py injects each).
"""

from __future__ import annotations

import pytest

TEACHER, STUDENT = "bert-mini-mlm", "bert-tiny-mlm"
SENTENCES = 64
WITHIN = "1.25x"  # the distilled student's pseudo-perplexity over its teacher's: 1.00x measured (571.5 over 573.9)


@pytest.mark.parametrize("name", [TEACHER, STUDENT])
def test_pseudo_perplexity(modelperf, name):
    """A masked LM's pseudo-perplexity against its baseline: more than 10% worse, beyond the
    sentences' sampling band, fails."""
    quality = modelperf.measure_perplexity(modelperf.load_registered(name), limit=SENTENCES)
    modelperf.check(quality, threshold="10%")


def test_distilled_lm_keeps_its_teachers_pseudo_perplexity(modelperf):
    """BERT-tiny distilled with DistilBERT's three losses stays within 1.25x of its teacher's
    pseudo-perplexity on the same sentences: catches a distillation that stopped learning."""
    teacher, student = (
        modelperf.measure_perplexity(modelperf.load_registered(name), limit=SENTENCES)["pseudo_perplexity"]
        for name in (TEACHER, STUDENT)
    )
    kept = modelperf.ratio(student, teacher, name=f"pseudo-perplexity of {STUDENT} over {TEACHER}", direction="lower_is_better")
    modelperf.check(kept, limit=WITHIN)
