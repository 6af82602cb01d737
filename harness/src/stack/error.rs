//! Why a stack could not boot: each variant names what failed and the numbers or log
//! lines a user needs to fix it.

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("capacity plan refused: {0}")]
    Plan(String),
    #[error("bad stack spec: {0}")]
    Spec(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("provisioning {what} on the backend: {detail}")]
    Provision { what: String, detail: String },
    #[error("certificates: {0}")]
    Certs(#[from] ingest::certs::CertError),
    #[error("component {name} failed to start: {detail}\n--- last lines of {log} ---\n{tail}")]
    Component {
        name: String,
        detail: String,
        log: String,
        tail: String,
    },
    #[error("component {name} is not ready (GET {url}/readyz) after {waited_ms} ms: {last}")]
    NotReady {
        name: String,
        url: String,
        waited_ms: u64,
        last: String,
    },
}

impl StackError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> StackError {
        StackError::Io {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn provision(what: impl Into<String>, err: impl std::fmt::Display) -> StackError {
        StackError::Provision {
            what: what.into(),
            detail: err.to_string(),
        }
    }
}
