//! MySQL binary JSON (the `JSON` column type) to exact JSON text, and partial-update JSON diffs.
