# Doctest collection imports every module; the command-line entry point must not run.
collect_ignore = ["streamml/__main__.py"]
