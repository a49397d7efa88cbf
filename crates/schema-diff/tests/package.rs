//! The crate is ready to embed: `cargo package` makes it with complete
//! metadata and without anything it cannot carry (the dev-only
//! `dts-test-support` is dropped from the packaged manifest), and it stays
//! unpublishable by accident (`publish = false`). No build and no network:
//! the packaging is checked, the verification build is `cargo package`'s own.

use std::path::Path;
use std::process::Command;

const CRATE: &str = "schema-diff";

#[test]
fn cargo_package_makes_the_crate_with_complete_metadata() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("package");
    let out = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args([
            "package",
            "--offline",
            "--no-verify",
            "--allow-dirty",
            "-p",
            CRATE,
        ])
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("running cargo package");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cargo package -p {CRATE} failed:\n{stderr}"
    );
    // Cargo warns, without failing, about missing metadata.
    assert!(
        !stderr.contains("warning"),
        "cargo package -p {CRATE} warned:\n{stderr}"
    );

    let list = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args([
            "package",
            "--offline",
            "--list",
            "--allow-dirty",
            "-p",
            CRATE,
        ])
        .output()
        .expect("running cargo package --list");
    let files = String::from_utf8_lossy(&list.stdout);
    for f in ["README.md", "src/lib.rs", "examples/plan.rs"] {
        assert!(
            files.lines().any(|l| l == f),
            "{f} is not packaged:\n{files}"
        );
    }

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
        "publish = false",
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
