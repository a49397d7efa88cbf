//! Row values: one column value from its binlog encoding, exact, for every column type.
