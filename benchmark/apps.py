from django.apps import AppConfig


class BenchmarkConfig(AppConfig):
    """The benchmark: the top layer, it may import every app and no app imports it."""

    name = "benchmark"
    verbose_name = "Benchmark"
