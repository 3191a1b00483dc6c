"""report.md and a self-contained report.html (figures embedded) from results.json."""
from __future__ import annotations

import base64
import html
from pathlib import Path

from ._io import read_json, write_atomic
from .plots import PLOTTERS


def write_report(run_dir) -> dict:
    """Read ``run_dir/results.json``, draw the figures and write report.md and report.html."""
    run_dir = Path(run_dir)
    path = run_dir / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"No results.json in {run_dir}; run `ntkssl reproduce --out {run_dir}` first.")
    results = read_json(path)
    md = ["# ntkssl report", "",
          "Each verdict below is computed from the numbers in `results.json` by the experiment's `summarize`.", "",
          "| claim | verdict | evidence |", "|---|---|---|"]
    sections, figures = [], {}
    for name in sorted(results):
        res = results[name]
        s = res["summary"]
        md.append(f"| {name} | **{s['verdict']}** | {s['statement']} |")
        figs = []
        if res.get("complete") and name in PLOTTERS:
            figs = PLOTTERS[name](res, run_dir)
        figures[name] = figs
        sections.append((name, res, figs))
    for name, res, figs in sections:
        md += ["", f"## {res['title']}", "", f"Verdict: **{res['summary']['verdict']}** — {res['summary']['statement']}", ""]
        if _single_seed(res["summary"]):
            md += ["Note: one seed per width — the bootstrap interval collapses to the point estimate, so this "
                   "verdict rests on a single initialization. Rerun with several seeds.", ""]
        md += [f"![{name}]({f})" for f in figs]
        if name == "E6" and res.get("complete"):
            md += ["", "| embedding | accuracy |", "|---|---|"]
            md += [f"| {k} | {v:.3f} |" for k, v in res["summary"]["accuracy"].items()]
        if name == "E5" and res.get("complete"):
            md += ["", "Finite-width link (network trained T steps; B from the linearized displacement):", "",
                   "| n | network loss | linearized loss | B | ‖θ_T−θ_0‖ | bound | loss difference net − lin | Procrustes |",
                   "|---|---|---|---|---|---|---|---|"]
            for n, l in sorted(res["summary"]["links"].items(), key=lambda kv: int(kv[0])):
                md.append(f"| {n} | {l['network_loss']:.4g} | {l['linearized_loss']:.4g} | {l['B']:.4g} | "
                          f"{l['param_displacement']:.4g} | {l['bound']:.4g} | {l['loss_difference']:.3g} | "
                          f"{l['procrustes']:.3g} |")
        md += ["", "<details><summary>config</summary>", "", "```", *(f"{k} = {v!r}" for k, v in res["config"].items()),
               "```", "</details>"]
    text = "\n".join(md) + "\n"
    write_atomic(run_dir / "report.md", text)
    write_atomic(run_dir / "report.html", _html(text, run_dir))
    return figures


def _single_seed(summary) -> bool:
    if isinstance(summary, dict):
        return bool(summary.get("single_seed")) or any(_single_seed(v) for v in summary.values())
    return False


def _html(markdown: str, run_dir: Path) -> str:
    """A minimal Markdown → HTML rendering with the PNGs inlined as data URIs."""
    out, table = [], []

    def flush_table():
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= set("-")]
            cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
            out.append("<table>" + "".join(
                "<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{_inline(c)}</{'th' if i == 0 else 'td'}>" for c in row)
                + "</tr>" for i, row in enumerate(cells)) + "</table>")
            table.clear()

    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            flush_table()
            out.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            out.append(html.escape(line))
            continue
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("!["):
            fname = line[line.index("(") + 1:line.rindex(")")]
            data = base64.b64encode((run_dir / fname).read_bytes()).decode()
            out.append(f'<img src="data:image/png;base64,{data}" alt="{html.escape(fname)}" style="max-width:100%">')
        elif line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            out.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("<details") or line.startswith("</details"):
            out.append(line)
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    flush_table()
    body = "\n".join(out)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>ntkssl report</title><style>"
            "body{font-family:sans-serif;max-width:1000px;margin:auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px}</style></head><body>" + body + "</body></html>")


def _inline(text: str) -> str:
    import re

    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)
