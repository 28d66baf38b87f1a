"""The command line: ``attribution run``, ``attribution report`` and ``attribution forecast``.

============== ===============================================================================
module         what
============== ===============================================================================
``main``       the parser and :func:`main`, the entry point (``python -m attribution.cli``)
``run``        ``attribution run``: credit per channel and model, the paths, ROI with spend
``report``     ``attribution report``: the HTML report and its tables
``forecast``   ``attribution forecast``: forecasts of series or of an attributed event log
``options``    what the subcommands share: journey, column and model options, loading the
               input, checking figures, writing the outputs as one set, exit statuses
============== ===============================================================================

Exit status: 0 on success, 2 on bad input (the error's message on stderr, nothing written),
130 after SIGINT and 143 after SIGTERM (nothing written, the staging folder removed), 1 on an
unexpected failure. Every command writes its files as one set (see
:func:`attribution._base.output.output_set`).
"""

from attribution.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
