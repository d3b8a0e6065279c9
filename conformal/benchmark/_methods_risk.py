"""Benchmark methods of the risk family (registered on import by conformal.benchmark)."""
