"""`manage.py bench`: the performance benchmark, on a generated data set of its own."""
