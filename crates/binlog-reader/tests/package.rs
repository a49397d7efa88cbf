//! The crate is ready to embed: `cargo package` makes it with complete
//! metadata and without anything it cannot carry (the dev-only
//! `dts-test-support` is dropped from the packaged manifest, and the
//! integration tests, which need it and the test servers, stay out), and it
//! packages together with the workspace crates it depends on. No build and no
//! network: the packaging is checked, the verification build is
//! `cargo package`'s own.

use std::path::Path;
use std::process::Command;

const CRATE: &str = "binlog-reader";
const EXAMPLE: &str = "examples/tail_json.rs";

fn cargo_package(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .args([
            "package",
            "--offline",
            "--allow-dirty",
            "-p",
            "server-dialect",
            "-p",
            CRATE,
        ])
        .args(args)
        .output()
        .expect("running cargo package")
}

#[test]
fn cargo_package_makes_the_crate_with_complete_metadata() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("package");
    let target_arg = target.to_string_lossy();
    let out = cargo_package(&["--no-verify", "--target-dir", &target_arg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cargo package -p {CRATE} failed:\n{stderr}"
    );
    // Cargo warns, without failing, about missing metadata; that the
    // integration tests are left out is intended.
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning") && !l.starts_with("warning: ignoring test"))
        .collect();
    assert!(
        warnings.is_empty(),
        "cargo package -p {CRATE} warned:\n{stderr}"
    );

    let list = cargo_package(&["--list"]);
    let files = String::from_utf8_lossy(&list.stdout);
    for f in ["README.md", "src/lib.rs", EXAMPLE] {
        assert!(
            files.lines().any(|l| l == f),
            "{f} is not packaged:\n{files}"
        );
    }
    assert!(
        !files.lines().any(|l| l.starts_with("tests/")),
        "tests are packaged:\n{files}"
    );

    // The manifest cargo wrote into the .crate (a gzipped tar).
    let untar = Command::new("tar")
        .arg("-xzOf")
        .arg(target.join(format!("package/{CRATE}-0.1.0.crate")))
        .arg(format!("{CRATE}-0.1.0/Cargo.toml"))
        .output()
        .expect("running tar");
    assert!(
        untar.status.success(),
        "{}",
        String::from_utf8_lossy(&untar.stderr)
    );
    let manifest = String::from_utf8_lossy(&untar.stdout);
    for field in [
        "description = ",
        "license = ",
        "repository = ",
        "readme = \"README.md\"",
        "keywords = ",
        "categories = ",
        "rust-version = ",
    ] {
        assert!(
            manifest.contains(field),
            "no {field:?} in the packaged manifest:\n{manifest}"
        );
    }
    assert!(
        !manifest.contains("dts-test-support"),
        "the packaged manifest names the unpublished dts-test-support:\n{manifest}"
    );
}
