//! The crate is ready to embed: `cargo package` makes it with complete
//! metadata, its README and examples, without its integration tests (they
//! need the test servers) and without the unpublished `dts-test-support`,
//! together with the workspace crates it depends on (see
//! `dts_test_support::package`). No build and no network.

#[test]
fn cargo_package_makes_the_crate_with_complete_metadata() {
    dts_test_support::package::Package {
        name: "bulk-copy",
        with: &["server-dialect", "binlog-reader", "schema-diff"],
        files: &["examples/copy_table.rs"],
        cargo: env!("CARGO"),
        manifest_dir: env!("CARGO_MANIFEST_DIR"),
        target_tmpdir: env!("CARGO_TARGET_TMPDIR"),
    }
    .check();
}
