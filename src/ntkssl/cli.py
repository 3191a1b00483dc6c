"""The `ntkssl` command: reproduce the paper's claims, run one experiment, rebuild a report."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .experiments import EXPERIMENTS, get_experiment

QUICK_TIME = "about 2–3 minutes on 2 CPU cores"
FULL_TIME = "about 20–40 minutes on 2 CPU cores (measured: 22 min; widths up to 16,384, 3–5 seeds, n up to 1,024 pairs)"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ntkssl",
        description="Infinite-width limits of Barlow Twins networks: reproduce the claims of Fleissner, Anil & "
                    "Ghoshdastidar (arXiv 2411.11176) on real data, with figures and a report.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(sp):
        sp.add_argument("--dataset", choices=["digits", "mnist", "synthetic"], default=None,
                        help="Data set: scikit-learn's digits (embedded default), MNIST from IDX files in "
                             "--data-dir, or a synthetic Gaussian mixture.")
        sp.add_argument("--data-dir", default=None, help="Directory holding the four MNIST IDX files (gzipped or not).")
        sp.add_argument("--out", default="ntkssl-results",
                        help="Run directory for task files, results.json, figures and the report (default: ntkssl-results).")
        sp.add_argument("--device", choices=["cpu", "cuda"], default=None,
                        help="Where networks train: cpu (default) or cuda (needs a CUDA build of torch).")
        sp.add_argument("--workers", type=int, default=1,
                        help="Local worker processes running tasks in parallel (default 1).")
        sp.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="Dask scheduler address (e.g. tcp://host:8786): submit the tasks to that cluster "
                             "instead of running them locally (needs pip install 'ntkssl[dask]').")
        sp.add_argument("--no-progress", action="store_true", help="Hide the progress bar over tasks.")

    rp = sub.add_parser("reproduce", help="Run all six experiments E1–E6 and write the report.",
                        description=f"Run E1–E6 and write results.json, PNG figures, report.md and report.html. "
                                    f"--quick (the default sizes) takes {QUICK_TIME}; --full takes {FULL_TIME}. "
                                    "Rerunning into the same --out skips finished tasks.")
    size = rp.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help=f"Small sizes ({QUICK_TIME}); this is the default.")
    size.add_argument("--full", action="store_true", help=f"Paper-scale sizes ({FULL_TIME}).")
    common(rp)

    rn = sub.add_parser("run", help="Run one experiment (E1..E6) with its own settings.",
                        description="Run one experiment. Settings come from its defaults, then --full, then a TOML "
                                    "file (--config), then --set key=value; unknown keys and wrongly typed values are "
                                    "rejected with the list of valid keys (see `ntkssl list`).")
    rn.add_argument("experiment", help=f"One of {', '.join(EXPERIMENTS)}.")
    rn.add_argument("--config", default=None, metavar="FILE.toml", help="TOML file of settings (key = value).")
    rn.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="Override one setting, e.g. --set widths=256,1024 --set steps=300 (repeatable).")
    rn.add_argument("--full", action="store_true", help="Start from the paper-scale sizes.")
    common(rn)

    rr = sub.add_parser("report", help="Rebuild figures, report.md and report.html from a run directory.",
                        description="Read DIR/results.json and (re)write the figures and reports; nothing is recomputed.")
    rr.add_argument("dir", help="A run directory written by `ntkssl reproduce` or `ntkssl run`.")

    sub.add_parser("list", help="List the experiments and their settings with defaults.",
                   description="List experiments E1–E6 with every setting and its default value.")
    return p


def _overrides(args) -> dict:
    values = {}
    if getattr(args, "config", None):
        import tomllib

        path = Path(args.config)
        if not path.is_file():
            raise ValueError(f"--config file {path} does not exist.")
        with open(path, "rb") as fh:
            values.update(tomllib.load(fh))
    for item in getattr(args, "set", []) or []:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}.")
        k, v = item.split("=", 1)
        values[k.strip()] = v.strip()
    return values


def _common_values(args) -> dict:
    return {"dataset": args.dataset, "data_dir": args.data_dir, "device": args.device}


def _preflight(args) -> None:
    """Fail before any task runs: a missing CUDA, missing MNIST files, an unreadable data set."""
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda was requested but this torch build sees no CUDA device; use "
                             "--device cpu, or install a CUDA build of torch (see README, Install).")
    if args.dataset == "mnist":
        from .data import load_dataset

        load_dataset("mnist", data_dir=args.data_dir)


def main(argv=None) -> int:
    from .runner import make_config, run_experiments

    from ._runtime import tune_allocator

    parser = _parser()
    args = parser.parse_args(argv)
    tune_allocator()
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "list":
            for name in EXPERIMENTS:
                mod = get_experiment(name)
                print(f"{name}  {mod.TITLE}")
                for key, val in vars(mod.Config()).items():
                    print(f"      {key} = {val!r}")
            return 0
        if args.command == "report":
            from .report import write_report

            write_report(args.dir)
            print(f"wrote {Path(args.dir) / 'report.md'} and report.html")
            return 0
        if args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}.")
        common = _common_values(args)
        _preflight(args)
        if args.command == "reproduce":
            configs = {n: make_config(n, full=args.full, common=common) for n in EXPERIMENTS}
        else:
            name = args.experiment.upper()
            get_experiment(name)
            configs = {name: make_config(name, full=args.full, overrides=_overrides(args), common=common)}
        t0 = time.time()
        results = run_experiments(configs, args.out, workers=args.workers, scheduler=args.scheduler,
                                  progress=not args.no_progress)
        print(f"finished in {time.time() - t0:.0f} s; report: {Path(args.out) / 'report.md'}")
        for name, res in results.items():
            if name in configs:
                print(f"  {name}: {res['summary']['verdict']:>10}  {res['summary']['statement']}")
        return 0
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        print(f"ntkssl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ntkssl: interrupted; finished tasks are saved, rerun the same command to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
