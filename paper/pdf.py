"""paper.pdf: latexmk on paper.tex, and the problems its log shows (LaTeX missing or failing, an undefined
reference or citation, a result or figure that was not available)."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
from typing import Callable

from .registry import PAPER_DIR


def compile_pdf(paper_dir: pathlib.Path = PAPER_DIR, echo: Callable[[str], None] = print) -> list[str]:
    """latexmk -pdf paper.tex in paper_dir; returns the problems found (empty when the PDF is right): LaTeX
    missing or failing, undefined references or citations, a result or figure that was not available."""
    if shutil.which("latexmk") is None:
        return ["LaTeX is not installed (no latexmk on PATH): apt-get install texlive-latex-recommended "
                "texlive-latex-extra texlive-science cm-super dvipng latexmk"]
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-g", "paper.tex"]
    env = {**os.environ, "max_print_line": "100000"}  # unwrapped log lines, so that names are read whole
    done = subprocess.run(command, cwd=paper_dir, capture_output=True, text=True, env=env)
    log_path = paper_dir / "paper.log"
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    problems = []
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        problems.append(f"latexmk failed (exit {done.returncode}); see {log_path}:\n{tail}")
    problems += [f"undefined: {m}" for m in sorted(set(re.findall(r"(?:Reference|Citation) `([^']+)' on page", log)))]
    problems += [f"missing result: {m}" for m in sorted(set(re.findall(r"Package statphys Warning: no result for (\S+)", log)))]
    if "[no results]" in log or re.search(r"File `[^']+' not found", log):
        problems.append(f"a figure file or results.tex is missing; see {log_path}")
    if not problems:
        echo(f"paper: {paper_dir / 'paper.pdf'}")
    return problems
