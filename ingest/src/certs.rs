//! TLS material the stack generates at boot: a throwaway CA and a server certificate it
//! signs for `localhost` and `127.0.0.1`. Clients trust the CA's PEM.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// PEM-encoded CA certificate, server certificate and server key.
pub struct Certs {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

pub fn generate(names: &[&str]) -> Result<Certs, CertError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gameday throwaway CA");
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(Certs {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

impl Certs {
    /// Writes `ca.pem`, `cert.pem`, `key.pem` into `dir`; returns (cert, key) paths.
    pub fn write_to(&self, dir: &Path) -> Result<(PathBuf, PathBuf), CertError> {
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map(|_| path.clone())
                .map_err(|source| CertError::Write {
                    path: path.display().to_string(),
                    source,
                })
        };
        write("ca.pem", &self.ca_pem)?;
        Ok((
            write("cert.pem", &self.cert_pem)?,
            write("key.pem", &self.key_pem)?,
        ))
    }
}
