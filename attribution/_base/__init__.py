"""The private base layer of both packages: errors, time, periods, frames, progress, output.

It imports nothing else of the project, so :mod:`forecasting` can use it without loading the
attribution models. One module per idea:

=============== ==============================================================================
module          what
=============== ==============================================================================
``errors``      the error hierarchy and :func:`describe_rows`
``time``        one reading of time: columns and single values to instants or dates
``periods``     one period vocabulary (``"1mo"``, ``"MS"``, ``"W"`` ...) and ``infer_freq``
``frames``      :data:`FrameLike`, ``to_lazy``, column checks and the value-rule harness
``progress``    the one-line-per-step progress display
``output``      atomic writes of files and of whole output folders
=============== ==============================================================================
"""
