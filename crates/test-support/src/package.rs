//! The check each library crate's `tests/package.rs` makes: the crate is
//! ready to embed. `cargo package` makes it with complete metadata and
//! without anything it cannot carry (the dev-only `dts-test-support` is
//! dropped from the packaged manifest, and the integration tests, which
//! need it and the test servers, stay out), together with the workspace
//! crates it depends on (cargo packages interdependent crates through a
//! local overlay of the publishable ones). No build and no network: the
//! packaging is checked, the verification build is `cargo package`'s own.

use std::path::Path;
use std::process::{Command, Output};

/// What one crate's package test checks.
#[derive(Clone, Copy, Debug)]
pub struct Package<'a> {
    /// The crate.
    pub name: &'a str,
    /// The workspace crates it depends on, packaged with it.
    pub with: &'a [&'a str],
    /// Files the package must hold besides `README.md` and `src/lib.rs`
    /// (its examples).
    pub files: &'a [&'a str],
    /// The calling test's `env!("CARGO")`.
    pub cargo: &'a str,
    /// The calling test's `env!("CARGO_MANIFEST_DIR")`.
    pub manifest_dir: &'a str,
    /// The calling test's `env!("CARGO_TARGET_TMPDIR")`.
    pub target_tmpdir: &'a str,
}

impl Package<'_> {
    fn cargo_package(&self, args: &[&str]) -> Output {
        let mut c = Command::new(self.cargo);
        c.current_dir(Path::new(self.manifest_dir).join("../.."))
            .args(["package", "--offline", "--allow-dirty"]);
        for p in self.with.iter().chain([&self.name]) {
            c.args(["-p", p]);
        }
        c.args(args).output().expect("running cargo package")
    }

    /// Packages the crate and checks the package: no warning (complete
    /// metadata), its README, `src/lib.rs` and `files` in, no test in, and
    /// a packaged manifest with every metadata field and without
    /// `dts-test-support`.
    ///
    /// # Panics
    ///
    /// When a check fails, with cargo's output.
    pub fn check(&self) {
        let crate_name = self.name;
        let target = Path::new(self.target_tmpdir).join(format!("package-{crate_name}"));
        let target_arg = target.to_string_lossy();
        let out = self.cargo_package(&["--no-verify", "--target-dir", &target_arg]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "cargo package -p {crate_name} failed:\n{stderr}"
        );
        // Cargo warns, without failing, about missing metadata; that the
        // integration tests are left out is intended.
        let warnings: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("warning") && !l.starts_with("warning: ignoring test"))
            .collect();
        assert!(
            warnings.is_empty(),
            "cargo package -p {crate_name} warned:\n{stderr}"
        );

        // The list of the crate's own files (with several crates, each
        // list is headed by the crate's manifest path, so list it alone:
        // `--list` needs no overlay).
        let list = Command::new(self.cargo)
            .current_dir(Path::new(self.manifest_dir).join("../.."))
            .args([
                "package",
                "--offline",
                "--allow-dirty",
                "--list",
                "-p",
                crate_name,
            ])
            .output()
            .expect("running cargo package --list");
        let files = String::from_utf8_lossy(&list.stdout);
        for f in ["README.md", "src/lib.rs"].iter().chain(self.files) {
            assert!(
                files.lines().any(|l| l == *f),
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
            .arg(target.join(format!("package/{crate_name}-0.1.0.crate")))
            .arg(format!("{crate_name}-0.1.0/Cargo.toml"))
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
}
