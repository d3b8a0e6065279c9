"""Benchmark methods of the missing family (registered on import by conformal.benchmark)."""
