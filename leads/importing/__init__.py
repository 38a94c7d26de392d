"""Lead intake from files and forms: presets (vendor formats), files (reading, decoding),
columns (cleaning cells), cleaning (whole rows), writer (the one way in for every entry
path), uploads (where an uploaded file is kept: the database or a configured storage),
batches (list imports: create, preview, run, confirm, resume) and revert (plan, then undo)."""
