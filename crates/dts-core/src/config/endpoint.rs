//! One server of the task: its URL, password and TLS mode, and the
//! connection options made from them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// TLS on a connection (design rule 22).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// No TLS.
    Disabled,
    /// TLS when the server offers it (certificate not checked), else plain.
    #[default]
    Preferred,
    /// TLS or no connection (certificate not checked).
    Required,
    /// TLS with the server's certificate signed by `tls_ca`.
    VerifyCa,
    /// As `verify-ca`, and the certificate names the host connected to.
    VerifyIdentity,
}

/// Where a password came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// No password is sent.
    None,
    /// It was in the URL (and was taken out of it).
    Url,
    /// From this environment variable.
    Env(String),
    /// From this file.
    File(PathBuf),
}

impl std::fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::None => f.write_str("none"),
            PasswordSource::Url => f.write_str("url"),
            PasswordSource::Env(v) => write!(f, "env {v}"),
            PasswordSource::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

impl Serialize for PasswordSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One server of the task.
#[derive(Clone, Debug, Serialize)]
pub struct Endpoint {
    /// The URL without any password.
    pub url: String,
    /// Where the password comes from.
    pub password_source: PasswordSource,
    /// The password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// TLS mode.
    pub tls: TlsMode,
    /// The CA certificate (PEM) for `verify-ca` and `verify-identity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    /// The metadata schema (on the target: task state and checkpoints).
    pub meta_schema: String,
    #[serde(skip)]
    pub(super) opts: mysql_async::Opts,
}

impl Endpoint {
    /// Connection options with the password and TLS settings. For
    /// `preferred`, these ask for TLS without checking the certificate; use
    /// [`Endpoint::plain_opts`] when the server offers no TLS.
    pub fn opts(&self) -> mysql_async::Opts {
        let mut b = mysql_async::OptsBuilder::from_opts(self.opts.clone())
            .pass(self.password.as_ref().map(|p| p.expose().to_string()));
        let ssl = mysql_async::SslOpts::default();
        b = match self.tls {
            TlsMode::Disabled => b.ssl_opts(None),
            TlsMode::Preferred | TlsMode::Required => b.ssl_opts(Some(
                ssl.with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            )),
            TlsMode::VerifyCa | TlsMode::VerifyIdentity => {
                let roots = self.tls_ca.iter().map(|p| p.clone().into()).collect();
                b.ssl_opts(Some(
                    ssl.with_root_certs(roots)
                        .with_disable_built_in_roots(true)
                        .with_danger_skip_domain_validation(self.tls == TlsMode::VerifyCa),
                ))
            }
        };
        b.into()
    }

    /// Connection options without TLS (for `preferred` against a server
    /// that offers none).
    pub fn plain_opts(&self) -> mysql_async::Opts {
        mysql_async::OptsBuilder::from_opts(self.opts())
            .ssl_opts(None)
            .into()
    }

    /// The user name, if the URL has one.
    pub fn user(&self) -> Option<&str> {
        self.opts.user()
    }

    /// The host.
    pub fn host(&self) -> &str {
        self.opts.ip_or_hostname()
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.opts.tcp_port()
    }
}
