"""Model facts: parameter count and artefact size, exact; published counts of each architecture."""

from __future__ import annotations

import pytest

from pytest_modelperf.models.prepare import reference_parameter_count
from pytest_modelperf.run.session import model_registry


def test_model_facts(modelperf, model_name):
    """Parameter count and artefact size, exactly equal to the baseline: catches a changed
    architecture or head, a checkpoint saved differently (dtype, tied weights, extra files)."""
    facts = modelperf.model_facts(modelperf.load_registered(model_name))
    modelperf.check(facts.parameter_count)
    if facts.artefact_size is not None:
        modelperf.check(facts.artefact_size)


def test_published_parameter_counts(request, model_name):
    """The offline architecture reproduces the published counts exactly (built on the meta device):
    catches an offline recipe that no longer builds the architecture it names. A model without a
    published count in the registry skips, saying so."""
    spec = model_registry(request.config).model(model_name)
    if not spec.reference_parameters:
        pytest.skip(f"{model_name}: no published parameter count in the registry")
    for reference in spec.reference_parameters:
        counted = reference_parameter_count(spec, reference)
        assert counted == reference.count, (
            f"{model_name} with a {reference.task} head of {reference.num_labels} labels has {counted:,} "
            f"parameters; published: {reference.count:,}"
        )
