"""MkDocs hooks: the pages generated from the code when the site is built, so that they cannot go stale.

- ``options.md`` is always ``python -m pytest_modelperf.options``'s output; the committed
  ``docs/options.md`` (what GitHub shows) must equal it, and a build where it does not logs a
  warning, which fails ``mkdocs build --strict``.
- ``<!-- modelperf-help: COMMAND -->`` in a page becomes ``modelperf COMMAND --help``'s output.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from typing import Any

from pytest_modelperf.cli.main import main as modelperf_main
from pytest_modelperf.options import options_markdown

OPTIONS_PAGE = "options.md"
REGENERATE = "python -m pytest_modelperf.options > docs/options.md"

log = logging.getLogger("mkdocs.hooks.modelperf")
HELP_MARKER = re.compile(r"<!-- modelperf-help: ([a-z-]+) -->")
HELP_WIDTH = "100"


def options_page(committed: str) -> tuple[str, str | None]:
    """The options page's Markdown, rendered now, and a warning when the committed page differs from it."""
    rendered = options_markdown()
    if committed == rendered:
        return rendered, None
    return rendered, f"docs/{OPTIONS_PAGE} differs from pytest_modelperf/options.py's table; regenerate it: {REGENERATE}"


def command_help(command: str) -> str:
    """``modelperf COMMAND --help`` as printed at a fixed width; ValueError for a command it does not know."""
    out, err = io.StringIO(), io.StringIO()
    width = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH  # argparse wraps at the terminal's width
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.suppress(SystemExit):
            modelperf_main([command, "--help"])
    finally:
        if width is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = width
    if not out.getvalue():
        raise ValueError(f"modelperf {command} --help printed no usage: {err.getvalue().strip()}")
    return out.getvalue()


def with_command_help(markdown: str) -> str:
    """``markdown`` with each help marker replaced by the command's usage in a code block."""
    return HELP_MARKER.sub(lambda marker: f"```\n{command_help(marker.group(1)).rstrip()}\n```", markdown)


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri == OPTIONS_PAGE:
        rendered, warning = options_page(markdown)
        if warning is not None:
            log.warning(warning)
        return rendered
    try:
        return with_command_help(markdown)
    except ValueError as error:
        log.warning(f"{page.file.src_uri}: {error}")
        return markdown
