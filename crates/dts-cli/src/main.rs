//! `dts`: the command-line front end of the migration engine.
fn main() {}
