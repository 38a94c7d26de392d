"""Lead intake from files and forms: presets (vendor formats), files (reading, decoding),
columns (cleaning cells), cleaning (whole rows), writer (the one way in for every entry
path) and batches (list imports: create, preview, run, confirm, revert)."""
