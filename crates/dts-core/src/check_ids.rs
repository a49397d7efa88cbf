//! Every precheck id and why the check exists.
//!
//! Its own module because two concepts share it: the task file, whose
//! `[precheck] acknowledge` names ids (checked when the file is read), and
//! the precheck, which reports its checks in this order. The precheck
//! re-exports it as `precheck::CHECKS`.

/// Every check: its id and why it exists.
#[derive(Clone, Copy, Debug)]
pub struct CheckInfo {
    /// The stable id.
    pub id: &'static str,
    /// Why it matters.
    pub why: &'static str,
}

macro_rules! checks {
    ($($id:literal => $why:literal,)*) => {
        /// Every check id with its reason, in report order.
        pub const CHECKS: &[CheckInfo] = &[$(CheckInfo { id: $id, why: $why },)*];
    };
}

checks! {
    "source.connect" => "the task reads the source over this connection",
    "target.connect" => "the task writes the target over this connection",
    "source.tls" => "the connection must be encrypted and verified as the task file asks",
    "target.tls" => "the connection must be encrypted and verified as the task file asks",
    "pair.distinct" => "migrating a server onto itself would overwrite the data being read",
    "pair.versions" => "a target of another flavour or an older version lacks types, collations and syntax the source uses",
    "target.features" => "objects using collations, character sets or constructs the target lacks cannot be created there",
    "source.objects" => "every selected database, table, column and filter must exist and be valid on the source",
    "source.log_bin" => "incremental migration reads the source's binary log",
    "source.binlog_format" => "only ROW events carry the changed rows; STATEMENT and MIXED events cannot be applied exactly",
    "source.binlog_row_image" => "updates and deletes are applied by the full before-image; MINIMAL and NOBLOB images lack columns",
    "source.binlog_row_value_options" => "PARTIAL_JSON writes JSON updates as diffs against the before image, which the apply can compute exactly only from a full before image",
    "source.binlog_compress" => "compressed binlog events (MariaDB compressed events, MySQL TRANSACTION_PAYLOAD) must be decoded and every event inside applied",
    "source.binlog_checksum" => "checksums let the reader detect corrupted events instead of applying them",
    "source.server_id" => "a server with server_id 0 does not serve binlog readers",
    "source.gtid_mode" => "GTIDs let the task resume on another server of the source's cluster after a failover",
    "source.binlog_retention" => "binlogs purged before they are read make the task fail; the reference product asks for 7 days (full + incremental) or more than 24 hours (incremental only)",
    "source.binlog_archive" => "the archive of purged binlogs is read only when the task needs it, possibly days later: an unreadable or empty directory must show now",
    "source.privileges" => "the source account must read the selected objects and the binlog, and take the snapshot the way the copy takes it",
    "source.privileges_excessive" => "an account with more privileges than the task needs turns a leaked password or a bug into damage",
    "target.privileges" => "the target account must create and write the mapped objects and the metadata schema",
    "target.privileges_excessive" => "an account with more privileges than the task needs turns a leaked password or a bug into damage",
    "source.primary_keys" => "without a primary key or a NOT NULL unique key, rows cannot be told apart: updates and deletes are applied by full-row match and duplicates are possible",
    "target.conflicts" => "objects already on the target would be mixed with the migrated ones",
    "names.valid" => "a name the target cannot create stops the schema migration",
    "names.collisions" => "two source objects mapped to one target name would overwrite each other",
    "pair.sql_mode" => "applications moving to the target run under its sql_mode; a different one changes what they may write",
    "pair.time_zone" => "a different time zone changes NOW(), TIMESTAMP display and events on the target",
    "pair.lower_case_table_names" => "a target that folds names to lower case renames objects and may merge them",
    "pair.explicit_defaults_for_timestamp" => "a different setting gives TIMESTAMP columns created later other defaults on the target",
    "pair.charset" => "objects created later on the target take its default character set and collation",
    "target.max_allowed_packet" => "a row larger than the target's max_allowed_packet cannot be written",
    "target.local_infile" => "the full copy writes with LOAD DATA LOCAL INFILE",
    "target.read_only" => "a read-only target refuses every write",
    "source.node_role" => "a read-only or replica node cannot give what the task needs (heartbeat writes, a complete binlog)",
    "source.foreign_keys" => "cascaded changes are not in the binlog: the target's foreign keys must make them",
    "source.triggers" => "triggers created before the last change is applied fire a second time on replicated rows",
    "source.events" => "events running on both servers would make the same changes twice",
    "source.engines" => "non-transactional tables are not read from a consistent snapshot, and the target must support every engine",
    "source.partitioning" => "partitioned tables are created with the same partitioning, which the target must support",
    "source.generated_columns" => "generated columns are computed again by the target, never copied",
}
