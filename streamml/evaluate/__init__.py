"""Prequential evaluation and its outputs (JSON, CSV, PNG curves)."""

from streamml.evaluate.plot import plot_curves
from streamml.evaluate.prequential import prequential
from streamml.evaluate.results import EvaluationResult, format_table, write_csv, write_json

__all__ = ["prequential", "EvaluationResult", "plot_curves", "format_table", "write_csv", "write_json"]
