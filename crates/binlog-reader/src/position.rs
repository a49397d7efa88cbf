//! Binlog positions: file offsets, MySQL GTID sets, MariaDB GTID positions.
