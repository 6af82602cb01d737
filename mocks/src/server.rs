//! The one HTTP port: routes each request to Kinesis, SQS or S3, applies request-level
//! faults, checks credentials, and serves health. `router` + `run` follow the
//! project's rule that libraries never bind fixed ports.

use crate::awsjson::{JsonError, Protocol};
use crate::faults::{CONDITIONAL_WRITES, FailCode, Outcome, Service};
use crate::{Ctx, EmulatorConfig, auth, health, kinesis, s3, sqs};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use http::StatusCode;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

/// The whole embedded backend: shared context plus the three services.
pub struct Emulator {
    pub ctx: Ctx,
    pub kinesis: Arc<kinesis::Kinesis>,
    pub sqs: Arc<sqs::Sqs>,
    pub s3: Arc<s3::S3Backend>,
    s3_service: s3s::service::S3Service,
    /// Released at shutdown so blackholed requests do not hold the server open.
    released: Notify,
    started_ms: i64,
}

impl Emulator {
    pub fn new(config: EmulatorConfig) -> Arc<Self> {
        let ctx = Ctx::new(config);
        let sqs = Arc::new(sqs::Sqs::new(ctx.clone()));
        let s3 = Arc::new(s3::S3Backend::new(ctx.clone(), sqs.clone()));
        Arc::new(Self {
            kinesis: Arc::new(kinesis::Kinesis::new(ctx.clone())),
            s3_service: s3::service(s3.clone(), &ctx),
            started_ms: ctx.clock.now_ms(),
            ctx,
            sqs,
            s3,
            released: Notify::new(),
        })
    }

    /// Binds `addr` (port 0 picks one) and serves until the handle is stopped or dropped.
    pub async fn start(
        config: EmulatorConfig,
        addr: SocketAddr,
    ) -> std::io::Result<RunningEmulator> {
        let emulator = Self::new(config);
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, emulator.clone(), async move {
            let _ = rx.await;
        }));
        Ok(RunningEmulator {
            emulator,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub(crate) fn uptime_ms(&self) -> i64 {
        self.ctx.clock.now_ms() - self.started_ms
    }
}

/// A started emulator; dropping it stops the server.
pub struct RunningEmulator {
    pub emulator: Arc<Emulator>,
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:<port>`: what `AWS_ENDPOINT_URL` should be.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits for the server task.
    pub async fn stop(mut self) -> std::io::Result<()> {
        self.emulator.released.notify_waiters();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.emulator.released.notify_waiters();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn router(emulator: Arc<Emulator>) -> Router {
    Router::new()
        .route("/_gameday/health", get(health::gameday))
        .route("/_localstack/health", get(health::localstack))
        .fallback(dispatch)
        .with_state(emulator)
}

/// Serves the emulator on `listener` until `shutdown` resolves, then drains.
pub async fn run(
    listener: TcpListener,
    emulator: Arc<Emulator>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let released = emulator.clone();
    axum::serve(listener, router(emulator))
        .with_graceful_shutdown(async move {
            shutdown.await;
            released.released.notify_waiters();
            released.sqs.release_long_polls();
        })
        .await
}

const KINESIS_PREFIX: &str = "Kinesis_20131202.";
const SQS_PREFIX: &str = "AmazonSQS.";

async fn dispatch(State(emu): State<Arc<Emulator>>, req: Request) -> Response {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match target {
        Some(t) if t.starts_with(KINESIS_PREFIX) => {
            let op = &t[KINESIS_PREFIX.len()..];
            json_service(&emu, Service::Kinesis, op, req).await
        }
        Some(t) if t.starts_with(SQS_PREFIX) => {
            let op = &t[SQS_PREFIX.len()..];
            json_service(&emu, Service::Sqs, op, req).await
        }
        Some(t) => {
            emu.ctx.counters.incr("request.rejected.unknown_target");
            JsonError::bad_request(
                "UnknownOperationException",
                format!("unknown X-Amz-Target {t:?}: this endpoint serves Kinesis_20131202.* and AmazonSQS.*"),
            )
            .into_response(json_protocol_of(&req))
        }
        None if is_json_request(&req) => {
            emu.ctx.counters.incr("request.rejected.missing_target");
            JsonError::bad_request(
                "UnknownOperationException",
                "missing X-Amz-Target header: a JSON request must name its operation",
            )
            .into_response(json_protocol_of(&req))
        }
        None => s3_request(&emu, req).await,
    }
}

fn is_json_request(req: &Request) -> bool {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-amz-json"))
}

fn json_protocol_of(req: &Request) -> Protocol {
    let ct = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.contains("json-1.0") {
        Protocol::Json10
    } else {
        Protocol::Json11
    }
}

/// What an injected fault makes a service answer instead of serving the request.
#[derive(Debug, Clone, Copy)]
enum Injected {
    Fail(FailCode),
    Throttle,
    /// A blackholed request released at shutdown.
    ShuttingDown,
}

/// Waits for a fault's latency and applies its outcome; `Some` is the answer to send
/// instead of serving the request.
async fn apply_faults(
    emu: &Emulator,
    service: Service,
    op: &str,
    conditional_write: bool,
    answer: impl Fn(Injected) -> Response,
) -> Option<Response> {
    let action = emu
        .ctx
        .faults
        .before_request(service, op, conditional_write);
    if let Some(delay) = action.delay {
        tokio::time::sleep(delay).await;
    }
    match action.outcome {
        Outcome::Proceed => None,
        Outcome::Fail(code) => Some(answer(Injected::Fail(code))),
        Outcome::Throttle => Some(answer(Injected::Throttle)),
        Outcome::Blackhole => {
            emu.released.notified().await;
            Some(answer(Injected::ShuttingDown))
        }
    }
}

/// An injected error as Kinesis or SQS answers it (`__type` and `x-amzn-ErrorType`).
fn json_fault_error(service: Service, injected: Injected) -> JsonError {
    match (service, injected) {
        (_, Injected::Fail(FailCode::InternalError)) => JsonError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "injected fault",
        ),
        // SlowDown and ConditionalRequestConflict are refused for JSON services at inject.
        (_, Injected::Fail(_)) => JsonError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "injected fault",
        ),
        // SQS answers throttling with 400 and its legacy code, which aws-sdk-sqs models
        // as a throttling error.
        (Service::Sqs, Injected::Throttle) => {
            JsonError::bad_request("ThrottlingException", "injected throttling")
                .with_query_code("RequestThrottled;Sender")
        }
        (_, Injected::Throttle) => {
            JsonError::bad_request("LimitExceededException", "injected throttling")
        }
        (_, Injected::ShuttingDown) => JsonError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "emulator shutting down",
        ),
    }
}

/// An injected error as S3 answers it: `<Error><Code>…</Code><Message>…</Message></Error>`.
fn s3_fault_error(injected: Injected) -> Response {
    let code = match injected {
        Injected::Fail(code) => code,
        Injected::Throttle => FailCode::SlowDown,
        Injected::ShuttingDown => FailCode::ServiceUnavailable,
    };
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    s3::error_response(status, code.as_str(), code.s3_message())
}

/// S3 writes whose `If-None-Match` / `If-Match` makes them conditional.
fn is_conditional_write(op: &str, headers: &http::HeaderMap) -> bool {
    CONDITIONAL_WRITES.contains(&op)
        && (headers.contains_key(http::header::IF_NONE_MATCH)
            || headers.contains_key(http::header::IF_MATCH))
}

async fn json_service(emu: &Emulator, service: Service, op: &str, req: Request) -> Response {
    let protocol = match service {
        Service::Sqs => Protocol::Json10,
        _ => Protocol::Json11,
    };
    let (parts, body) = req.into_parts();
    let limit = emu.ctx.config.max_json_body_bytes;
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            emu.ctx
                .counters
                .incr(&format!("{}.rejected.body_too_large", service.as_str()));
            return JsonError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("request body exceeds {limit} bytes"),
            )
            .into_response(protocol);
        }
    };
    if let Some(resp) = apply_faults(emu, service, op, false, |injected| {
        json_fault_error(service, injected).into_response(protocol)
    })
    .await
    {
        return resp;
    }
    if let Err(e) = auth::verify_request(
        &emu.ctx.config,
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
    ) {
        emu.ctx
            .counters
            .incr(&format!("auth.rejected.{}", e.reason()));
        return auth_error(service, &e).into_response(protocol);
    }
    match service {
        Service::Kinesis => emu.kinesis.handle(op, &body),
        Service::Sqs => emu.sqs.handle(op, &parts.headers, &body).await,
        Service::S3 => unreachable_s3(),
    }
}

fn unreachable_s3() -> Response {
    s3::error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "S3 is not a JSON service",
    )
}

fn auth_error(service: Service, e: &auth::AuthError) -> JsonError {
    use auth::AuthError::*;
    let (code, query) = match e {
        Missing => (
            "MissingAuthenticationTokenException",
            "MissingAuthenticationToken",
        ),
        UnknownAccessKey => ("UnrecognizedClientException", "InvalidClientTokenId"),
        Malformed => ("IncompleteSignatureException", "IncompleteSignature"),
        SignatureMismatch | Expired => ("InvalidSignatureException", "SignatureDoesNotMatch"),
    };
    match service {
        Service::Sqs => JsonError::new(StatusCode::FORBIDDEN, code, e.to_string())
            .with_query_code(format!("{query};Sender")),
        _ => JsonError::bad_request(code, e.to_string()),
    }
}

async fn s3_request(emu: &Emulator, req: Request) -> Response {
    let op = s3::operation_name(req.method(), req.uri(), req.headers());
    let conditional = is_conditional_write(op, req.headers());
    if let Some(resp) = apply_faults(emu, Service::S3, op, conditional, s3_fault_error).await {
        return resp;
    }
    let (parts, body) = req.into_parts();
    let req = http::Request::from_parts(parts, s3s::Body::http_body_unsync(body));
    match emu.s3_service.call(req).await {
        Ok(resp) => resp.map(Body::new),
        Err(e) => {
            tracing::warn!(error = ?e, "s3 request failed below the S3 layer");
            s3::error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "request failed",
            )
        }
    }
}
