"""Loading a model or its data draws no progress bars, and leaves the libraries' settings as they were."""

from __future__ import annotations

import datasets.utils as datasets_progress
import huggingface_hub.utils as hub
import pytest
import transformers.utils.logging as transformers_logging

from pytest_modelperf.models.loading import load_model
from pytest_modelperf.models.progress_bars import quiet_progress_bars
from pytest_modelperf.quality.data import load_eval_dataset


def states() -> tuple[bool, bool, bool]:
    return (
        transformers_logging.is_progress_bar_enabled(),
        not hub.are_progress_bars_disabled(),
        not datasets_progress.are_progress_bars_disabled(),
    )


@pytest.fixture
def bars_on():
    before = states()
    transformers_logging.enable_progress_bar()
    hub.enable_progress_bars()
    datasets_progress.enable_progress_bars()
    yield
    for enabled, enable, disable in zip(
        before,
        (transformers_logging.enable_progress_bar, hub.enable_progress_bars, datasets_progress.enable_progress_bars),
        (transformers_logging.disable_progress_bar, hub.disable_progress_bars, datasets_progress.disable_progress_bars),
        strict=True,
    ):
        (enable if enabled else disable)()


def test_the_bars_are_off_inside_and_back_on_after(bars_on):
    with quiet_progress_bars():
        assert states() == (False, False, False)
    assert states() == (True, True, True)


def test_bars_a_user_turned_off_stay_off(bars_on):
    transformers_logging.disable_progress_bar()  # turns the hub's off too
    with quiet_progress_bars():
        assert states() == (False, False, False)
    assert states() == (False, False, True)


def test_the_bars_come_back_after_an_error(bars_on):
    with pytest.raises(RuntimeError), quiet_progress_bars():
        raise RuntimeError("loading failed")
    assert states() == (True, True, True)


def test_loading_a_model_draws_no_loading_bar(bars_on, tiny_checkpoint, capfd):
    load_model(tiny_checkpoint)
    assert "Loading weights" not in capfd.readouterr().err
    assert states() == (True, True, True)


def test_loading_evaluation_data_draws_no_bar(bars_on, tmp_path, capfd):
    path = tmp_path / "eval.csv"
    path.write_text("text,label\n" + "".join(f"sentence {i},{i % 2}\n" for i in range(50)))
    assert len(load_eval_dataset(path)) == 50
    err = capfd.readouterr().err
    assert "Generating" not in err and "it/s" not in err
    assert states() == (True, True, True)
