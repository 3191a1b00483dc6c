import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ntkssl.cli import main
from ntkssl.runner import make_config, run_experiments, task_dir

TINY = {
    "E1": {"widths": [32, 64, 128], "seeds": [0, 1], "steps": 10, "n_pairs": 16, "d_out": 2},
    "E2": {"widths": [32, 64], "seeds": [0, 1], "steps": 10, "n_pairs": 16, "d_out": 2, "record_every": 5},
    "E3": {"widths": [32, 128], "seeds": [0], "steps": 10, "n_pairs": 16, "d_out": 2, "holdout": 20},
    "E4": {"relu_widths": [32, 64], "deep_widths": [16, 32], "seeds": [0], "steps": 5, "n_pairs": 8, "d_out": 2,
           "probe_size": 8},
    "E5": {"ns": [8, 16], "draws": 2, "n_fresh": 200, "link_width": 64, "steps": 5, "d_out": 2},
    "E6": {"n_pairs": 32, "widths": [32], "holdout": 100, "steps": 5, "d_out": 3},
}


def tiny_configs(names=TINY):
    return {n: make_config(n, overrides=TINY[n]) for n in names}


def test_tiny_reproduce_end_to_end(tmp_path):
    run_experiments(tiny_configs(), tmp_path, progress=False)
    for f in ("results.json", "report.md", "report.html", "e1_ntk_change.png", "e2_dynamics.png",
              "e3_kernel_distance.png", "e4_beyond.png", "e5_bound.png", "e6_probe.png"):
        assert (tmp_path / f).stat().st_size > 0, f
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert set(on_disk) == set(TINY)
    s1 = on_disk["E1"]["summary"]
    assert s1["verdict"] == ("holds" if s1["ci_high"] < -0.5 else "not shown")
    assert s1["ci_low"] <= s1["slope"] <= s1["ci_high"]
    s5 = on_disk["E5"]["summary"]
    assert s5["verdict"] == ("holds" if s5["violations"] == 0 else "violated") and s5["draws"] == 4
    acc = on_disk["E6"]["summary"]["accuracy"]
    assert all(0.0 <= a <= 1.0 for a in acc.values())
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 6
    report = (tmp_path / "report.md").read_text()
    for name in TINY:
        assert f"| {name} | **{on_disk[name]['summary']['verdict']}** |" in report
    # E3 and E4 ran one seed per width: the report says the interval is degenerate
    assert on_disk["E3"]["summary"]["empirical_train"]["single_seed"] and "Note: one seed per width" in report
    # the report is rebuilt from results.json alone
    (tmp_path / "report.md").unlink()
    assert main(["report", str(tmp_path)]) == 0 and (tmp_path / "report.md").exists()


def _task_files(out):
    return sorted(Path(out).glob("E2/tasks-*/*.json"))


@pytest.mark.slow
def test_kill_and_resume(tmp_path):
    args = [sys.executable, "-m", "ntkssl.cli", "run", "E2", "--no-progress",
            "--set", "widths=64,128,256,512", "--set", "seeds=0,1,2", "--set", "steps=300", "--set", "n_pairs=32",
            "--set", "d_out=3"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(args + ["--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(_task_files(killed)) < 3 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p: p.stat().st_mtime_ns for p in _task_files(killed)}
    assert 3 <= len(before) < 12
    assert not list(killed.rglob("*.tmp"))                       # no half-written file is left as a result
    for p in before:
        json.loads(p.read_text())                                 # every finished file is complete JSON
    subprocess.run(args + ["--out", str(killed)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = {p: p.stat().st_mtime_ns for p in _task_files(killed)}
    assert len(after) == 12
    assert all(after[p] == t for p, t in before.items())          # finished tasks were not recomputed
    clean = tmp_path / "clean"
    subprocess.run(args + ["--out", str(clean)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    a = json.loads((killed / "results.json").read_text())["E2"]
    b = json.loads((clean / "results.json").read_text())["E2"]
    key = lambda t: (t["width"], t["seed"])
    for ta, tb in zip(sorted(a["tasks"], key=key), sorted(b["tasks"], key=key)):
        assert key(ta) == key(tb)
        assert np.allclose(ta["loss"], tb["loss"], rtol=1e-9, atol=0)
        assert np.allclose(ta["displacement"], tb["displacement"], rtol=1e-9, atol=0)
    assert a["summary"]["verdict"] == b["summary"]["verdict"]
    assert np.isclose(a["summary"]["slope"], b["summary"]["slope"], rtol=1e-9)


def test_dask_local_cluster_matches_local(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    cfgs = tiny_configs(["E1", "E5"])
    local = run_experiments(cfgs, tmp_path / "local", progress=False, report=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        # the --scheduler ADDRESS path: run_experiments opens its own Client on the address
        remote = run_experiments(cfgs, tmp_path / "dask", scheduler=cl.scheduler_address, progress=False,
                                 report=False)
    for name in cfgs:
        key = lambda t: json.dumps({k: t[k] for k in ("width", "seed", "n", "draw") if k in t})
        la, ra = sorted(local[name]["tasks"], key=key), sorted(remote[name]["tasks"], key=key)
        assert len(la) == len(ra)
        for x, y in zip(la, ra):
            for k, v in x.items():
                if isinstance(v, float):
                    assert np.isclose(v, y[k], rtol=1e-9), (name, k)
        assert local[name]["summary"]["verdict"] == remote[name]["summary"]["verdict"]


def test_process_pool_matches_serial(tmp_path):
    cfgs = tiny_configs(["E1"])
    serial = run_experiments(cfgs, tmp_path / "a", progress=False, report=False)
    pooled = run_experiments(cfgs, tmp_path / "b", workers=2, progress=False, report=False)
    key = lambda t: (t["width"], t["seed"])
    for x, y in zip(sorted(serial["E1"]["tasks"], key=key), sorted(pooled["E1"]["tasks"], key=key)):
        assert np.isclose(x["ntk_change"], y["ntk_change"], rtol=1e-5)


def test_rerun_skips_finished_tasks(tmp_path):
    cfgs = tiny_configs(["E1"])
    run_experiments(cfgs, tmp_path, progress=False, report=False)
    files = list(task_dir(tmp_path, "E1", cfgs["E1"]).glob("*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in files}
    run_experiments(cfgs, tmp_path, progress=False, report=False)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())


def test_cli_list_and_help(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "E1" in out and "widths" in out and "E6" in out
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    help_text = capsys.readouterr().out
    assert "--full" in help_text and "minutes" in help_text and "--scheduler" in help_text


def test_cli_rejects_bad_settings(tmp_path, capsys):
    assert main(["run", "E9", "--out", str(tmp_path)]) == 2
    assert "Unknown experiment 'E9'" in capsys.readouterr().err
    assert main(["run", "E1", "--set", "colour=red", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Unknown config key(s) ['colour']" in err and "widths" in err
    assert main(["run", "E1", "--set", "steps=many", "--out", str(tmp_path)]) == 2
    assert "'steps' expects an integer, got 'many'" in capsys.readouterr().err
    toml = tmp_path / "c.toml"
    toml.write_text('widths = "wide"\n')
    assert main(["run", "E1", "--config", str(toml), "--out", str(tmp_path)]) == 2
    assert "widths" in capsys.readouterr().err
    assert main(["run", "E1", "--workers", "0", "--out", str(tmp_path)]) == 2
    assert "--workers must be >= 1" in capsys.readouterr().err


def test_cli_run_with_toml(tmp_path, capsys):
    toml = tmp_path / "c.toml"
    toml.write_text("widths = [32, 64]\nseeds = [0]\nsteps = 5\nn_pairs = 8\nd_out = 2\n")
    assert main(["run", "E1", "--config", str(toml), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    saved = json.loads((tmp_path / "run" / "E1" / "config.json").read_text())
    assert saved["widths"] == [32, 64] and saved["steps"] == 5


def test_experiment_run_returns_plain_data():
    from ntkssl.experiments import get_experiment

    cfg = make_config("E1", overrides=TINY["E1"])
    out = get_experiment("E1").run(cfg)
    assert len(out["tasks"]) == 6 and out["summary"]["verdict"] in ("holds", "not shown")
    json.dumps(out)                                                   # plain, JSON-ready data


def test_sweeps_need_two_widths(capsys):
    assert main(["run", "E1", "--set", "widths=4096", "--out", "/tmp/never-written"]) == 2
    assert "needs at least 2 distinct values" in capsys.readouterr().err
    assert main(["run", "E5", "--set", "ns=0,10", "--out", "/tmp/never-written"]) == 2
    assert "positive integers" in capsys.readouterr().err


def test_cli_preflight_errors(tmp_path, capsys):
    assert main(["reproduce", "--dataset", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte" in err and not (tmp_path / "o").exists()
    import torch

    if not torch.cuda.is_available():
        assert main(["run", "E1", "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
        assert "--device cuda" in capsys.readouterr().err


def test_unreachable_scheduler_is_a_clear_error(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    args = ["run", "E1", "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)] + sum(
        (["--set", f"{k}={v}"] for k, v in (("widths", "32,64"), ("seeds", "0"), ("steps", "2"), ("n_pairs", "4"))), [])
    assert main(args) == 2
    assert "Cannot reach the Dask scheduler" in capsys.readouterr().err
