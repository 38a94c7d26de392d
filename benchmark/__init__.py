"""`manage.py bench`: one shared, reproducible data set and the sections measured on it."""
