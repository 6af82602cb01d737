//! The fault vocabulary itself: what a fault targets, which answers it forces (AWS's own
//! status and error code pairs), its JSON form, and the rules that refuse a fault AWS
//! could never produce (SlowDown from SQS, a 409 on a read).

use super::delay::{Delay, DelayError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Kinesis,
    S3,
    Sqs,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Kinesis => "kinesis",
            Service::S3 => "s3",
            Service::Sqs => "sqs",
        }
    }
}

/// What a paused shard refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PauseMode {
    /// GetRecords returns no records (MillisBehindLatest keeps growing); writes go on.
    Reads,
    /// Writes fail with ProvisionedThroughputExceededException; reads go on.
    Writes,
    Both,
}

impl PauseMode {
    pub fn blocks_reads(self) -> bool {
        matches!(self, PauseMode::Reads | PauseMode::Both)
    }
    pub fn blocks_writes(self) -> bool {
        matches!(self, PauseMode::Writes | PauseMode::Both)
    }
}

/// S3 operations that take `If-None-Match` / `If-Match` as a condition on the write:
/// the only requests a `ConditionalRequestConflict` can hit.
pub const CONDITIONAL_WRITES: [&str; 2] = ["PutObject", "CompleteMultipartUpload"];

/// An error a failing service answers, named by its S3 error code (JSON services spell
/// `InternalError` as `InternalFailure`, as AWS's JSON protocols do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailCode {
    /// 500, any service.
    InternalError,
    /// 503, any service.
    ServiceUnavailable,
    /// 503, S3 only: "Please reduce your request rate" (SDKs retry it as throttling).
    SlowDown,
    /// 409, S3 only, and only on conditional writes: another conditional write to the
    /// key is in progress. Unconditional requests are never failed with it.
    ConditionalRequestConflict,
}

impl FailCode {
    pub fn status(self) -> u16 {
        match self {
            FailCode::InternalError => 500,
            FailCode::ServiceUnavailable | FailCode::SlowDown => 503,
            FailCode::ConditionalRequestConflict => 409,
        }
    }

    /// The S3 error code (and the counter suffix).
    pub fn as_str(self) -> &'static str {
        match self {
            FailCode::InternalError => "InternalError",
            FailCode::ServiceUnavailable => "ServiceUnavailable",
            FailCode::SlowDown => "SlowDown",
            FailCode::ConditionalRequestConflict => "ConditionalRequestConflict",
        }
    }

    /// The message S3 sends with the code.
    pub fn s3_message(self) -> &'static str {
        match self {
            FailCode::InternalError => "We encountered an internal error. Please try again.",
            FailCode::ServiceUnavailable => "Service is unable to handle request.",
            FailCode::SlowDown => "Please reduce your request rate.",
            FailCode::ConditionalRequestConflict => {
                "A conflicting operation occurred. If using PutObject you can retry the request."
            }
        }
    }

    /// The code a status means when a fault names only the status.
    fn for_status(status: u16) -> Option<FailCode> {
        match status {
            500 => Some(FailCode::InternalError),
            503 => Some(FailCode::ServiceUnavailable),
            409 => Some(FailCode::ConditionalRequestConflict),
            _ => None,
        }
    }

    fn s3_only(self) -> bool {
        matches!(
            self,
            FailCode::SlowDown | FailCode::ConditionalRequestConflict
        )
    }
}

/// One fault. JSON: internally tagged by `kind` (snake_case), e.g.
/// `{"kind":"fail","service":"s3","operation":"PutObject","status":503,"code":"SlowDown","probability":0.1}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// One Kinesis shard stops serving reads, writes or both.
    ShardPause {
        stream: String,
        shard_id: String,
        mode: PauseMode,
    },
    /// Each matching request (Kinesis: each record of a PutRecords) is throttled with
    /// this probability: Kinesis ProvisionedThroughputExceeded, S3 SlowDown, SQS
    /// ThrottlingException.
    Throttle {
        service: Service,
        operation: Option<String>,
        probability: f64,
    },
    /// Matching requests are answered later: a constant number of milliseconds or a
    /// distribution sampled per request (see [`Delay`]).
    Latency {
        service: Service,
        operation: Option<String>,
        delay_ms: Delay,
    },
    /// Matching requests fail with this probability, with `status` (500, 503 or 409)
    /// and `code` (optional: the status's usual code when absent; it must agree with
    /// `status`). 409 `ConditionalRequestConflict` hits only conditional writes.
    Fail {
        service: Service,
        operation: Option<String>,
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<FailCode>,
        probability: f64,
    },
    /// Matching requests are read and never answered.
    Blackhole {
        service: Service,
        operation: Option<String>,
    },
}

impl Fault {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Fault::ShardPause { .. } => "shard_pause",
            Fault::Throttle { .. } => "throttle",
            Fault::Latency { .. } => "latency",
            Fault::Fail { .. } => "fail",
            Fault::Blackhole { .. } => "blackhole",
        }
    }

    /// The service and operation a request-level fault applies to.
    pub(super) fn request_target(&self) -> Option<(Service, Option<&str>)> {
        match self {
            Fault::ShardPause { .. } => None,
            Fault::Throttle {
                service, operation, ..
            }
            | Fault::Latency {
                service, operation, ..
            }
            | Fault::Fail {
                service, operation, ..
            }
            | Fault::Blackhole { service, operation } => Some((*service, operation.as_deref())),
        }
    }

    /// The error a `Fail` answers (its code, or its status's usual one).
    pub fn fail_code(&self) -> Option<FailCode> {
        match self {
            Fault::Fail { status, code, .. } => code.or_else(|| FailCode::for_status(*status)),
            _ => None,
        }
    }

    pub(super) fn validate(&self) -> Result<(), FaultError> {
        match self {
            Fault::Throttle { probability, .. } => check_probability(*probability),
            Fault::Latency { delay_ms, .. } => Ok(delay_ms.validate()?),
            Fault::Fail {
                service,
                operation,
                status,
                code,
                probability,
            } => {
                check_probability(*probability)?;
                let effective = self.fail_code().ok_or(FaultError::Status(*status))?;
                if let Some(c) = code
                    && c.status() != *status
                {
                    return Err(FaultError::CodeStatus {
                        code: *c,
                        status: *status,
                    });
                }
                if effective.s3_only() && *service != Service::S3 {
                    return Err(FaultError::CodeService {
                        code: effective,
                        service: *service,
                    });
                }
                if effective == FailCode::ConditionalRequestConflict
                    && let Some(op) = operation
                    && !CONDITIONAL_WRITES.contains(&op.as_str())
                {
                    return Err(FaultError::NotAConditionalWrite(op.clone()));
                }
                Ok(())
            }
            Fault::ShardPause { .. } | Fault::Blackhole { .. } => Ok(()),
        }
    }
}

fn check_probability(p: f64) -> Result<(), FaultError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(FaultError::Probability(p))
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultError {
    #[error("probability must be within 0..=1, got {0}")]
    Probability(f64),
    #[error("a failing service answers 500, 503 or (S3 conditional writes) 409, not {0}")]
    Status(u16),
    #[error("{} is answered with HTTP {}, not {status}", .code.as_str(), .code.status())]
    CodeStatus { code: FailCode, status: u16 },
    #[error("{} is an S3 error; {} never answers it", .code.as_str(), .service.as_str())]
    CodeService { code: FailCode, service: Service },
    #[error(
        "ConditionalRequestConflict hits only conditional writes (PutObject, CompleteMultipartUpload), not {0}"
    )]
    NotAConditionalWrite(String),
    #[error("latency: {0}")]
    Delay(#[from] DelayError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(service: Service, op: Option<&str>, status: u16, code: Option<FailCode>) -> Fault {
        Fault::Fail {
            service,
            operation: op.map(str::to_string),
            status,
            code,
            probability: 1.0,
        }
    }

    #[test]
    fn fail_codes_aws_never_sends_are_refused() {
        use FailCode::*;
        assert_eq!(
            fail(Service::S3, None, 502, None).validate(),
            Err(FaultError::Status(502))
        );
        assert_eq!(
            fail(Service::S3, None, 500, Some(SlowDown)).validate(),
            Err(FaultError::CodeStatus {
                code: SlowDown,
                status: 500
            })
        );
        assert_eq!(
            fail(Service::Sqs, None, 503, Some(SlowDown)).validate(),
            Err(FaultError::CodeService {
                code: SlowDown,
                service: Service::Sqs
            })
        );
        assert_eq!(
            fail(Service::Kinesis, None, 409, None).validate(),
            Err(FaultError::CodeService {
                code: ConditionalRequestConflict,
                service: Service::Kinesis
            })
        );
        assert_eq!(
            fail(Service::S3, Some("GetObject"), 409, None).validate(),
            Err(FaultError::NotAConditionalWrite("GetObject".into()))
        );
        for ok in [
            fail(Service::S3, Some("PutObject"), 503, Some(SlowDown)),
            fail(Service::S3, None, 409, Some(ConditionalRequestConflict)),
            fail(Service::Sqs, Some("ReceiveMessage"), 500, None),
            fail(Service::Sqs, None, 503, Some(ServiceUnavailable)),
        ] {
            assert_eq!(ok.validate(), Ok(()), "{ok:?}");
        }
        assert_eq!(
            fail(Service::S3, None, 409, None).fail_code(),
            Some(ConditionalRequestConflict)
        );
    }

    #[test]
    fn json_shape_stays_compatible_and_names_codes() {
        let old =
            r#"{"kind":"fail","service":"s3","operation":null,"status":503,"probability":1.0}"#;
        let f: Fault = serde_json::from_str(old).unwrap();
        assert_eq!(f, fail(Service::S3, None, 503, None));
        assert_eq!(serde_json::to_string(&f).unwrap(), old);
        let slow = fail(
            Service::S3,
            Some("PutObject"),
            503,
            Some(FailCode::SlowDown),
        );
        let json = serde_json::to_value(&slow).unwrap();
        assert_eq!(json["code"], "SlowDown");
        assert_eq!(serde_json::from_value::<Fault>(json).unwrap(), slow);

        let old =
            r#"{"kind":"latency","service":"kinesis","operation":"PutRecords","delay_ms":300}"#;
        let f: Fault = serde_json::from_str(old).unwrap();
        assert_eq!(
            f,
            Fault::Latency {
                service: Service::Kinesis,
                operation: Some("PutRecords".into()),
                delay_ms: Delay::Constant(300),
            }
        );
        assert_eq!(serde_json::to_string(&f).unwrap(), old);
        let f: Fault = serde_json::from_str(
            r#"{"kind":"latency","service":"s3","operation":null,"delay_ms":{"dist":"lognormal","p50_ms":20,"p99_ms":200}}"#,
        )
        .unwrap();
        assert!(matches!(
            f,
            Fault::Latency {
                delay_ms: Delay::Lognormal {
                    p50_ms: 20,
                    p99_ms: 200
                },
                ..
            }
        ));
    }
}
