"""The sans-I/O core: values in, values out.

Units, error kinds, samples and the metric definitions, stream parsers, load plans and
arrivals, statistics and merge, thresholds and SLOs, the result schema, the profile model and
the pure AWS parts. Nothing here opens a socket or runs an event loop (import-linter checks
it), so every piece is tested with plain values.
"""
