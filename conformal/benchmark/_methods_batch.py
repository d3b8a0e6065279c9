"""Benchmark methods of the batch family (registered on import by conformal.benchmark)."""
