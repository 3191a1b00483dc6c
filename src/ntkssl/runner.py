"""Sweeps: every (experiment, task) is one unit of work, run serially, in a process pool or on a
Dask cluster, each result written atomically to its own JSON file so that a rerun skips finished
tasks and an interruption loses only the tasks in flight."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ._io import read_json, write_json
from .experiments import get_experiment
from .experiments.common import config_from_dict, config_to_dict

FULL_OVERRIDES = {
    "E1": {"widths": [256, 1024, 4096, 16384], "seeds": [0, 1, 2, 3, 4], "n_pairs": 256, "d_out": 10, "steps": 500},
    "E2": {"widths": [256, 1024, 4096, 16384], "seeds": [0, 1, 2, 3, 4], "n_pairs": 256, "d_out": 10, "steps": 500},
    "E3": {"widths": [256, 1024, 4096, 16384], "seeds": [0, 1, 2], "n_pairs": 256, "d_out": 10, "steps": 200},
    "E4": {"relu_widths": [256, 1024, 4096, 16384], "deep_widths": [128, 256, 512, 1024], "seeds": [0, 1, 2, 3],
           "n_pairs": 128, "d_out": 10, "steps": 300},
    "E5": {"ns": [32, 64, 128, 256, 512, 1024], "draws": 20, "n_fresh": 5000, "d_out": 10},
    "E6": {"widths": [256, 2048, 8192], "seeds": [0, 1, 2], "n_pairs": 1000, "steps": 500},
}


def make_config(name: str, *, full: bool = False, overrides: dict | None = None, common: dict | None = None):
    """The config of experiment ``name``: defaults (quick), then --full sizes, then user overrides."""
    mod = get_experiment(name)
    values = {}
    if full:
        values.update(FULL_OVERRIDES[name.upper()])
    valid = {f for f in mod.Config.__dataclass_fields__}
    for k, v in (common or {}).items():
        if k in valid and v is not None:
            values[k] = v
    values.update(overrides or {})
    return config_from_dict(mod.Config, values)


def _hash(cfg_dict: dict) -> str:
    return hashlib.sha1(json.dumps(cfg_dict, sort_keys=True).encode()).hexdigest()[:10]


def task_dir(out_dir, name: str, cfg) -> Path:
    return Path(out_dir) / name / f"tasks-{_hash(config_to_dict(cfg))}"


def execute_task(name: str, cfg_dict: dict, task: dict, threads: int | None = None) -> dict:
    """Run one task (picklable entry point for worker processes and Dask workers)."""
    import torch

    from ._runtime import tune_allocator

    tune_allocator()
    if threads:
        torch.set_num_threads(threads)
    mod = get_experiment(name)
    cfg = config_from_dict(mod.Config, cfg_dict)
    return mod.run_task(cfg, task)


def run_experiments(configs: dict, out_dir, *, workers: int = 1, scheduler: str | None = None,
                    progress: bool = True, report: bool = True) -> dict:
    """Run the experiments ``{name: config}`` into ``out_dir``; returns the aggregated results.

    Finished tasks (their JSON exists) are skipped. ``workers`` > 1 uses a local process pool;
    ``scheduler`` (a Dask scheduler address, or a ``dask.distributed.Client``) submits the tasks to
    a Dask cluster instead.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pending = []
    for name, cfg in configs.items():
        cfg_dict = config_to_dict(cfg)
        tdir = task_dir(out_dir, name, cfg)
        tdir.mkdir(parents=True, exist_ok=True)
        write_json(out_dir / name / "config.json", cfg_dict)
        for task in get_experiment(name).tasks(cfg):
            if not (tdir / f"{task['key']}.json").exists():
                pending.append((name, cfg_dict, task, tdir / f"{task['key']}.json"))

    from tqdm.auto import tqdm

    bar = tqdm(total=len(pending), desc="ntkssl tasks", unit="task", disable=not progress)

    def finish(item, result):
        name, cfg_dict, task, path = item
        write_json(path, {"task": task, "result": result})
        bar.update(1)
        bar.set_postfix_str(f"{name} {task['key']}")

    try:
        if scheduler is not None:
            _run_dask(pending, scheduler, finish)
        elif workers > 1 and len(pending) > 1:
            _run_pool(pending, workers, finish)
        else:
            for item in pending:
                finish(item, execute_task(item[0], item[1], item[2]))
    finally:
        bar.close()
    results = aggregate(configs, out_dir)
    if report:
        from .report import write_report

        write_report(out_dir)
    return results


def _run_pool(pending, workers, finish):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = max(1, (os.cpu_count() or 1) // workers)
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    try:
        futs = {ex.submit(execute_task, it[0], it[1], it[2], threads): it for it in pending}
        for fut in as_completed(futs):
            finish(futs[fut], fut.result())
    except BaseException:
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    ex.shutdown(wait=True)


def _run_dask(pending, scheduler, finish):
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise ImportError("--scheduler needs Dask's distributed scheduler: pip install 'ntkssl[dask]' "
                          "(or pip install 'dask[distributed]').") from None
    if isinstance(scheduler, Client):
        client = scheduler
    else:
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ValueError(f"Cannot reach the Dask scheduler at --scheduler {scheduler!r} ({exc}). Start one "
                             "with `dask scheduler` (and workers with `dask worker ADDRESS`), or check the "
                             "address.") from None
    try:
        futs = {client.submit(execute_task, it[0], it[1], it[2], pure=False): it for it in pending}
        for fut in as_completed(list(futs)):
            finish(futs[fut], fut.result())
    finally:
        if client is not scheduler:
            client.close()


def aggregate(configs: dict, out_dir) -> dict:
    """Collect finished task files into results.json with each experiment's summary."""
    out_dir = Path(out_dir)
    results_path = out_dir / "results.json"
    results = read_json(results_path) if results_path.exists() else {}
    for name, cfg in configs.items():
        mod = get_experiment(name)
        tdir = task_dir(out_dir, name, cfg)
        done = []
        for task in mod.tasks(cfg):
            p = tdir / f"{task['key']}.json"
            if p.exists():
                done.append(read_json(p)["result"])
        complete = len(done) == len(mod.tasks(cfg))
        entry = {"title": mod.TITLE, "config": config_to_dict(cfg), "tasks": done, "complete": complete}
        entry["summary"] = mod.summarize(cfg, done) if complete else {"verdict": "incomplete",
                                                                       "statement": "not all tasks finished"}
        results[name] = entry
    write_json(results_path, results)
    return results

