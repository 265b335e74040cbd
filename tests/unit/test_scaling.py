"""Data-parallel scaling's pure parts: rates, speed-up and efficiency from runs, measurements,
settings, torchrun commands, results read back, launch errors and the files, against hand-computed values."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_modelperf
from pytest_modelperf.core.measurement import DIVISION_BY_ZERO, Direction
from pytest_modelperf.render.scaling import (
    CSV_COLUMNS,
    ScalingOutputError,
    check_scaling_output,
    csv_rows,
    scaling_csv,
    write_scaling,
)
from pytest_modelperf.training.scaling import (
    DELAYED_SYNC,
    PLAIN,
    Rendezvous,
    ScalingLaunchError,
    ScalingRun,
    ScalingSettings,
    ScalingSettingsError,
    core_notes,
    default_threads,
    launch_description,
    run_torchrun,
    scaling_result,
    scaling_rows,
    scaling_settings,
    torchrun_command,
    worker_environment,
)
from pytest_modelperf.training.scaling_worker import ERROR_PREFIX, WORKER_MODULE


def run(
    world_size: int,
    seconds: list[float],
    *,
    batch: int = 8,
    accumulation: int = 1,
    delay_sync: bool = False,
    nproc: int | None = None,
    nnodes: int = 1,
) -> ScalingRun:
    return ScalingRun(
        model="tiny",
        task="sequence-classification",
        device="cpu",
        world_size=world_size,
        nproc_per_node=nproc or world_size,
        nnodes=nnodes,
        batch_size=batch,
        sequence_length=128,
        gradient_accumulation=accumulation,
        global_batch=world_size * batch * accumulation,
        delay_sync=delay_sync,
        threads=1,
        step_seconds=tuple(seconds),
        backend="gloo",
        device_name="cpu",
    )


# One worker: 8 samples per step in 0.5, 0.4, 0.6 s -> 16, 20, 13.33 samples/s, median 16.
# Two workers: 16 samples per step in 0.8, 0.6, 1.0 s -> 20, 26.67, 16 samples/s, median 20.
# Four workers: 32 samples per step in 0.5, 0.5, 0.4 s -> 64, 64, 80 samples/s, median 64.
ONE, TWO, FOUR = run(1, [0.5, 0.4, 0.6]), run(2, [0.8, 0.6, 1.0]), run(4, [0.5, 0.5, 0.4])


def settings(**changes: object) -> ScalingSettings:
    return ScalingSettings(**{"checkpoint": "/models/tiny", "nproc": (1, 2, 4), **changes})  # type: ignore[arg-type]


# -- rates, speed-up, efficiency --------------------------------------------------------------


def test_samples_per_second_is_the_median_of_the_per_step_rates() -> None:
    assert ONE.rates == pytest.approx((16.0, 20.0, 8 / 0.6))
    assert ONE.samples_per_second == pytest.approx(16.0)
    assert ONE.step_ms_median == pytest.approx(500.0)
    # Two steps: 16 and 32 samples/s, median 24 (not 8 / 0.375 s = 21.3, the rate of the median time).
    assert run(1, [0.5, 0.25]).samples_per_second == pytest.approx(24.0)


def test_speedup_and_efficiency_are_against_one_worker() -> None:
    rows = scaling_rows([ONE, TWO, FOUR])
    assert [row.run.world_size for row in rows] == [1, 2, 4]
    assert [row.speedup for row in rows] == pytest.approx([1.0, 1.25, 4.0])
    assert [row.efficiency for row in rows] == pytest.approx([1.0, 0.625, 1.0])
    assert [row.ideal_speedup for row in rows] == [1.0, 2.0, 4.0]


def test_without_one_worker_the_smallest_count_is_the_baseline() -> None:
    # 2 workers: 16 samples in 0.5 s -> 32/s; 4 workers: 32 samples in 0.8 s -> 40/s.
    rows = scaling_rows([run(4, [0.8, 0.8]), run(2, [0.5, 0.5])])
    assert [row.baseline_world_size for row in rows] == [2, 2]
    assert rows[0].speedup == pytest.approx(1.25)
    assert rows[0].efficiency == pytest.approx(1.25 / 2)
    assert rows[1].speedup == pytest.approx(1.0)


def test_each_variant_is_against_its_own_smallest_count() -> None:
    # Plain: 16 samples (8 x accumulate 2) in 0.5 s -> 32/s, then 32 in 0.8 s -> 40/s.
    # Delayed sync: 16 in 0.4 s -> 40/s, then 32 in 0.5 s -> 64/s.
    runs = [
        run(1, [0.5], accumulation=2),
        run(1, [0.4], accumulation=2, delay_sync=True),
        run(2, [0.8], accumulation=2),
        run(2, [0.5], accumulation=2, delay_sync=True),
    ]
    rows = scaling_rows(runs)
    assert [row.run.variant for row in rows] == [PLAIN, DELAYED_SYNC, PLAIN, DELAYED_SYNC]
    assert [row.speedup for row in rows] == pytest.approx([1.0, 1.0, 1.25, 1.6])
    assert [row.efficiency for row in rows] == pytest.approx([1.0, 1.0, 0.625, 0.8])


def test_a_step_of_no_measurable_time_gives_no_rate_and_no_speedup() -> None:
    instant = run(2, [0.5, 0.0])
    assert instant.instant_step == 2
    assert instant.rates == ()
    assert instant.samples_per_second is None
    rows = scaling_rows([ONE, instant])
    assert rows[1].speedup is None and rows[1].efficiency is None
    result = scaling_result(settings(nproc=(1, 2)), [ONE, instant])
    assert result.throughput_at(2).unavailable == f"{DIVISION_BY_ZERO}: step 2 of 2 took no measurable time"
    assert result.speedup_at(2).unavailable is not None


# -- measurements -----------------------------------------------------------------------------


def test_measurements_are_named_by_workers_and_step_with_per_step_samples() -> None:
    result = scaling_result(settings(), [ONE, TWO, FOUR])
    assert [m.name for m in result.throughput] == [
        "scaling_throughput[1 worker, 8x128]",
        "scaling_throughput[2 workers, 8x128]",
        "scaling_throughput[4 workers, 8x128]",
    ]
    assert [m.name for m in result.speedup] == ["scaling_speedup[2 workers, 8x128]", "scaling_speedup[4 workers, 8x128]"]
    assert [m.name for m in result.efficiency] == ["scaling_efficiency[2 workers, 8x128]", "scaling_efficiency[4 workers, 8x128]"]
    assert len(result.measurements) == 7

    throughput = result.throughput_at(2)
    assert throughput.unit == "samples/s" and throughput.direction is Direction.HIGHER_IS_BETTER
    assert throughput.samples == pytest.approx((20.0, 16 / 0.6, 16.0))
    assert throughput.value == pytest.approx(20.0)
    assert throughput.context["world_size"] == 2
    assert throughput.context["global_batch"] == 16

    speedup = result.speedup_at(4)
    assert (speedup.value, speedup.unit, speedup.direction) == (pytest.approx(4.0), "x", Direction.HIGHER_IS_BETTER)
    assert not speedup.deterministic
    context = speedup.context
    assert (context["world_size"], context["baseline_world_size"], context["ideal_speedup"]) == (4, 1, 4.0)
    assert (context["device"], context["model"], context["batch_size"], context["sequence_length"]) == ("cpu", "tiny", 8, 128)
    assert result.efficiency_at(2).value == pytest.approx(0.625)


def test_delayed_sync_and_accumulation_are_in_the_names() -> None:
    runs = [run(1, [0.4], accumulation=4, delay_sync=True), run(2, [0.5], accumulation=4, delay_sync=True)]
    result = scaling_result(settings(nproc=(1, 2), gradient_accumulation=4, variants=(DELAYED_SYNC,)), runs)
    assert result.speedup_at(2, DELAYED_SYNC).name == "scaling_speedup[2 workers, 8x128, accumulate 4, delayed sync]"
    assert result.speedup_at(2, DELAYED_SYNC).context["variant"] == DELAYED_SYNC
    with pytest.raises(KeyError, match=r"no speed-up at 2 workers \(ddp\); measured: \[\('delay_sync', 2\)\]"):
        result.speedup_at(2)


def test_a_cuda_run_is_measured_on_the_first_gpu() -> None:
    cuda = ScalingRun(**{**ONE.__dict__, "device": "cuda", "backend": "nccl"})
    assert scaling_result(settings(nproc=(1,), device="cuda"), [cuda]).throughput_at(1).context["device"] == "cuda:0"


# -- the CSV, the plot, the JSON ------------------------------------------------------------------


def test_the_csv_holds_nproc_global_batch_rate_speedup_and_efficiency_first() -> None:
    text = scaling_csv(scaling_rows([ONE, TWO]))
    assert text.splitlines()[0].split(",")[:5] == ["nproc", "global_batch", "samples_per_second", "speedup", "efficiency"]
    assert text == (
        "nproc,global_batch,samples_per_second,speedup,efficiency,variant,nnodes,world_size,batch_size,"
        "sequence_length,gradient_accumulation,step_ms_median,steps,threads,device\n"
        "1,8,16.000,1.0000,1.0000,ddp,1,1,8,128,1,500.000,3,1,cpu\n"
        "2,16,20.000,1.2500,0.6250,ddp,1,2,8,128,1,800.000,3,1,cpu\n"
    )


def test_csv_rows_of_several_nodes_give_workers_per_node_and_the_world_size() -> None:
    # 2 nodes x 2 workers, against 2 nodes x 1: 32 samples in 0.8 s (40/s) against 16 in 0.5 s (32/s).
    rows = scaling_rows([run(2, [0.5], nproc=1, nnodes=2), run(4, [0.8], nproc=2, nnodes=2), run(4, [0.0], nproc=2, nnodes=2)])
    table = [dict(zip(CSV_COLUMNS, values, strict=True)) for values in csv_rows(rows)]
    assert [(r["nproc"], r["nnodes"], r["world_size"], r["global_batch"]) for r in table] == [
        ("1", "2", "2", "16"),
        ("2", "2", "4", "32"),
        ("2", "2", "4", "32"),
    ]
    assert (table[1]["speedup"], table[1]["efficiency"]) == ("1.2500", "0.6250")
    assert (table[2]["samples_per_second"], table[2]["speedup"], table[2]["efficiency"]) == ("", "", "")


def test_the_files_are_written_and_kept_without_force(tmp_path: Path) -> None:
    result = scaling_result(settings(nproc=(1, 2), variants=(PLAIN,)), [ONE, TWO])
    written = write_scaling(result, tmp_path / "out")
    assert [file.path.name for file in written] == ["scaling.csv", "scaling.png", "scaling.json"]
    assert (tmp_path / "out" / "scaling.png").read_bytes().startswith(b"\x89PNG")
    document = json.loads((tmp_path / "out" / "scaling.json").read_text())
    assert [entry["step_seconds"] for entry in document["runs"]] == [[0.5, 0.4, 0.6], [0.8, 0.6, 1.0]]
    assert [entry["speedup"] for entry in document["runs"]] == pytest.approx([1.0, 1.25])
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "scaling.csv").read_text())))
    assert [row["world_size"] for row in rows] == ["1", "2"]

    with pytest.raises(ScalingOutputError, match=r"--output: .* already holds a scaling measurement's files \(scaling.csv"):
        write_scaling(result, tmp_path / "out")
    assert len(write_scaling(result, tmp_path / "out", force=True)) == 3


def test_an_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ScalingOutputError, match="exists and is not a folder"):
        check_scaling_output(tmp_path / "file", force=True)
    check_scaling_output(tmp_path / "new", force=False)


def test_a_node_without_rank_0_writes_nothing(tmp_path: Path) -> None:
    result = scaling_result(settings(nproc=(1,), rendezvous=Rendezvous(2, 1, endpoint="node0:29500")), [])
    assert write_scaling(result, tmp_path / "out") == []
    assert not (tmp_path / "out").exists()


# -- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nproc": ()}, "nproc: needs at least one worker count"),
        ({"nproc": (1, 0)}, "nproc: must be a whole number of at least 1, got 0"),
        ({"nproc": (2, 1, 2)}, "nproc: 2 given more than once"),
        ({"steps": 1}, "steps: must be a whole number of at least 2, got 1"),
        ({"warmup_steps": 0}, "warmup_steps: must be a whole number of at least 1, got 0"),
        ({"batch_size": True}, "batch_size: must be a whole number of at least 1, got True"),
        ({"threads": 0}, "threads: must be a whole number of at least 1, got 0"),
        ({"device": "tpu"}, "device: one of cpu, cuda, got 'tpu'"),
        ({"variants": (PLAIN, PLAIN)}, "variants: one or both of ddp, delay_sync, each once"),
        ({"variants": (DELAYED_SYNC,)}, "delay_sync: skips the all-reduce of the micro-batches before the last"),
    ],
)
def test_settings_that_cannot_run_are_named(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ScalingSettingsError) as raised:
        settings(**changes)
    assert str(raised.value).startswith(message)


def test_worker_counts_are_run_in_order_with_the_variants_side_by_side() -> None:
    chosen = settings(nproc=(4, 1, 2), gradient_accumulation=2, variants=(PLAIN, DELAYED_SYNC))
    assert chosen.nproc == (1, 2, 4)
    assert chosen.launches == [(1, PLAIN), (1, DELAYED_SYNC), (2, PLAIN), (2, DELAYED_SYNC), (4, PLAIN), (4, DELAYED_SYNC)]
    assert chosen.name == "tiny"
    assert chosen.step_label == "8x128, accumulate 2"


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ({"endpoint": "host:29500"}, "rdzv_endpoint: only applies with nnodes of 2 or more"),
        ({"node_rank": 1}, "node_rank: only applies with nnodes of 2 or more"),
        ({"nnodes": 2}, "rdzv_endpoint: 2 nodes need the rendezvous HOST:PORT"),
        ({"nnodes": 2, "endpoint": "host"}, "rdzv_endpoint: expected HOST:PORT with a port from 1 to 65535, got 'host'"),
        ({"nnodes": 2, "endpoint": "host:70000"}, "rdzv_endpoint: expected HOST:PORT"),
        ({"nnodes": 2, "endpoint": "host:29500", "node_rank": 2}, "node_rank: must be below nnodes (2), got 2"),
        ({"nnodes": 0}, "nnodes: must be a whole number of at least 1, got 0"),
        ({"nnodes": 2, "endpoint": "h:1", "run_id": "a b"}, "rdzv_id: letters, digits"),
    ],
)
def test_rendezvous_settings_are_checked(nodes: dict[str, object], message: str) -> None:
    with pytest.raises(ScalingSettingsError) as raised:
        Rendezvous(**nodes)  # type: ignore[arg-type]
    assert str(raised.value).startswith(message)


def test_threads_default_to_the_cores_shared_by_the_largest_count() -> None:
    assert [default_threads(largest, cores) for largest, cores in [(2, 2), (1, 2), (2, 8), (4, 2), (8, 64)]] == [1, 2, 4, 1, 8]
    assert scaling_settings("/models/tiny", nproc=(1, 2, 4), cores=8).threads == 2
    assert scaling_settings("/models/tiny", nproc=(1, 2, 4), threads=3, cores=8).threads == 3


def test_delay_sync_and_its_comparison_choose_the_variants() -> None:
    assert scaling_settings("m", gradient_accumulation=2, cores=2).variants == (PLAIN,)
    assert scaling_settings("m", gradient_accumulation=2, delay_sync=True, cores=2).variants == (DELAYED_SYNC,)
    assert scaling_settings("m", gradient_accumulation=2, compare_delay_sync=True, cores=2).variants == (PLAIN, DELAYED_SYNC)
    with pytest.raises(ScalingSettingsError, match="exclude each other"):
        scaling_settings("m", gradient_accumulation=2, delay_sync=True, compare_delay_sync=True)


def test_workers_beyond_the_cores_are_noted() -> None:
    assert core_notes(settings(nproc=(1, 2), threads=1), cores=2) == ()
    assert core_notes(settings(nproc=(1, 4), threads=1), cores=2) == (
        "4 workers x 1 thread share 2 cores: workers beyond the cores add no compute",
    )
    assert core_notes(settings(nproc=(1, 4), threads=1, device="cuda"), cores=2) == ()


# -- the torchrun command ------------------------------------------------------------------------


def test_one_node_runs_torchrun_standalone_with_the_worker_module() -> None:
    chosen = settings(nproc=(1, 2), gradient_accumulation=2, variants=(PLAIN, DELAYED_SYNC), threads=3, task="masked-lm")
    command = torchrun_command(chosen, 2, DELAYED_SYNC, Path("/tmp/r.json"))
    assert command[:6] == [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone"]
    worker = command[command.index(WORKER_MODULE) + 1 :]
    assert command[command.index(WORKER_MODULE) - 1] == "-m"
    pairs = dict(zip(worker[:-1:2], worker[1::2], strict=True))
    assert pairs == {
        "--checkpoint": "/models/tiny",
        "--task": "masked-lm",
        "--name": "tiny",
        "--batch-size": "8",
        "--sequence-length": "128",
        "--steps": "10",
        "--warmup-steps": "2",
        "--gradient-accumulation": "2",
        "--device": "cpu",
        "--threads": "3",
        "--result": "/tmp/r.json",
    }
    assert worker[-1] == "--delay-sync"
    assert "--delay-sync" not in torchrun_command(chosen, 2, PLAIN, Path("/tmp/r.json"))
    package_parent = str(Path(pytest_modelperf.__file__).resolve().parents[1])
    assert worker_environment(chosen, {"OMP_NUM_THREADS": "1", "PATH": "/bin"}) == {
        "OMP_NUM_THREADS": "3",
        "PATH": "/bin",
        "PYTHONPATH": package_parent,
    }
    assert worker_environment(chosen, {"PYTHONPATH": "/extra"})["PYTHONPATH"] == f"{package_parent}{os.pathsep}/extra"
    assert launch_description(chosen, 2, DELAYED_SYNC) == "2 workers, delay_sync, 3 threads each"


def test_several_nodes_pass_the_rendezvous_with_an_id_per_launch() -> None:
    nodes = Rendezvous(nnodes=2, node_rank=1, endpoint="node0:29500", run_id="study")
    command = torchrun_command(settings(nproc=(1, 2), rendezvous=nodes), 2, PLAIN, Path("r.json"))
    assert "--standalone" not in command
    rendezvous = command[command.index("--nproc-per-node") : command.index("--max-restarts")]
    assert rendezvous == [
        "--nproc-per-node",
        "2",
        "--nnodes",
        "2",
        "--node-rank",
        "1",
        "--rdzv-backend",
        "c10d",
        "--rdzv-endpoint",
        "node0:29500",
        "--rdzv-id",
        "study-ddp-2",
    ]
    assert (
        launch_description(settings(rendezvous=nodes, threads=1), 2, PLAIN) == "2 workers per node x 2 nodes, ddp, 1 thread each"
    )


# -- results read back, launch errors -------------------------------------------------------------


def test_a_result_reads_back_and_a_bad_one_is_named() -> None:
    assert ScalingRun.from_dict(TWO.to_dict(), "r.json") == TWO
    broken = {**TWO.to_dict(), "world_size": 0}
    with pytest.raises(ValueError, match=r"r.json: world_size must be a positive whole number, got 0"):
        ScalingRun.from_dict(broken, "r.json")
    with pytest.raises(ValueError, match=r"r.json: step_seconds must be a non-empty list of finite numbers"):
        ScalingRun.from_dict({**TWO.to_dict(), "step_seconds": [0.1, float("nan")]}, "r.json")
    with pytest.raises(ValueError, match=r"r.json: expected a JSON object, got list"):
        ScalingRun.from_dict([], "r.json")


def test_a_launch_error_names_the_command_the_ranks_errors_and_the_tail() -> None:
    output = "\n".join(
        [
            *(f"line {number}" for number in range(50)),
            f"{ERROR_PREFIX}, rank 1 of 2: ValueError: sequence_length 512 exceeds tiny's max_position_embeddings (128)",
            f"{ERROR_PREFIX}, rank 1 of 2: ValueError: sequence_length 512 exceeds tiny's max_position_embeddings (128)",
            "torch.distributed.elastic.multiprocessing.errors.ChildFailedError:",
        ]
    )
    error = ScalingLaunchError(["python", "-m", "torch.distributed.run", "x"], "torchrun failed with exit status 1", output)
    lines = str(error).splitlines()
    assert lines[0] == "torchrun failed with exit status 1: python -m torch.distributed.run x"
    assert (
        lines[1] == f"{ERROR_PREFIX}, rank 1 of 2: ValueError: sequence_length 512 exceeds tiny's max_position_embeddings (128)"
    )
    assert lines[2] == "--- the last 30 lines of its output ---"
    assert lines[-1] == "torch.distributed.elastic.multiprocessing.errors.ChildFailedError:"
    assert len(lines) == 3 + 30


def test_an_interrupted_launch_asks_torchrun_to_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    interrupted: list[subprocess.Popen[str]] = []

    class Interrupted(subprocess.Popen):  # type: ignore[type-arg]
        def communicate(self, *arguments: object, **options: object) -> tuple[str, str]:
            interrupted.append(self)
            raise KeyboardInterrupt

    monkeypatch.setattr(subprocess, "Popen", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_torchrun([sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ))
    assert interrupted[0].returncode == -signal.SIGTERM  # asked to stop (it passes that on), not killed


def test_a_launcher_that_cannot_start_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-python")
    with pytest.raises(ScalingLaunchError, match=rf"torchrun could not be started \(.*\): {missing} -m torch"):
        run_torchrun([missing, "-m", "torch.distributed.run"], {})
