//! Facts written by hand for the unit tests of the checks: the judging of
//! conditions no test server here can show (MySQL and PolarDB settings,
//! server_id 0, older and other-flavour targets, missing collations and
//! engines). The real-server tests are in `tests/precheck.rs`.

use std::collections::BTreeSet;

use schema_diff::model::Schema;
use schema_diff::ServerVersion;

use crate::config::TaskConfig;

use super::facts::{self, ServerFacts};
use super::gather::Ctx;
use super::report::{Check, Status};

pub(super) fn facts(version: &str, vars: &[(&str, &str)]) -> ServerFacts {
    ServerFacts {
        version_text: version.into(),
        // As read_facts identifies it: PolarDB by its polardb_version.
        version: ServerVersion::identify(
            version,
            vars.iter()
                .find(|(k, _)| *k == "polardb_version")
                .map(|(_, v)| *v),
        )
        .unwrap(),
        variables: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ssl_cipher: String::new(),
        privileges: facts::Privileges::default(),
        is_replica: Some(false),
        engines: ["INNODB", "MYISAM"].map(String::from).into_iter().collect(),
        collations: ["utf8mb4_general_ci", "utf8mb4_bin"]
            .map(String::from)
            .into_iter()
            .collect(),
        partitioning: true,
    }
}

pub(super) fn task() -> TaskConfig {
    TaskConfig::from_toml(
        "[source]\nurl = \"mysql://a@h:1\"\n[target]\nurl = \"mysql://a@h:2\"\n\
         [[objects]]\ndatabase = \"d\"\n",
        None,
    )
    .unwrap()
}

pub(super) fn ctx(src: ServerFacts, tgt: ServerFacts, schema: Schema) -> Ctx {
    Ctx {
        src,
        tgt,
        whole: schema.clone(),
        schema,
        selection_errors: vec![],
        tables: vec![],
        target_objects: BTreeSet::new(),
        target_nonempty: BTreeSet::new(),
        expected: Ok(Schema::default()),
    }
}

/// The status of check `id` in `out`; a check that did not pass has a fix.
pub(super) fn status(out: &[Check], id: &str) -> Status {
    let c = out.iter().find(|c| c.id == id).unwrap();
    assert!(c.status == Status::Pass || !c.fix.is_empty(), "{c:?}");
    c.status
}
