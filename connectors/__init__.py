"""Sources and sinks: where streams come from and where results go.

Each module reads one format into a :class:`streamml.stream.Stream` (and, where it makes sense, writes
it back): ``arff`` (MEKA and Mulan), ``tabular`` (CSV and JSONL), ``arrow`` (Parquet and Arrow IPC).
:func:`connectors.convert.convert` moves a stream between formats.
"""
