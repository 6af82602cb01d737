//! OTLP metrics over gRPC (`opentelemetry.proto.collector.metrics.v1.MetricsService/Export`):
//! the same pipeline as HTTP; quota and backpressure answer with google.rpc.RetryInfo so
//! OTLP exporters know when to retry.

use super::Gateway;
use super::pipeline::Failure;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use std::sync::Arc;
use std::time::Instant;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub struct Grpc(Arc<Gateway>);

pub fn service(gw: Arc<Gateway>) -> MetricsServiceServer<Grpc> {
    let limit = gw.config.limits.max_decompressed_bytes;
    MetricsServiceServer::new(Grpc(gw))
        .max_decoding_message_size(limit)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
}

pub fn failure_status(f: &Failure) -> Status {
    match f {
        Failure::Invalid { reason, detail } => {
            Status::invalid_argument(format!("{reason}: {detail}"))
        }
        Failure::TooLarge { bucket } => Status::invalid_argument(format!(
            "too_large_for_quota: the request needs more {bucket} than the quota can ever hold"
        )),
        Failure::Quota { retry_after } => Status::with_error_details(
            Code::ResourceExhausted,
            "quota_exceeded",
            ErrorDetails::with_retry_info(Some(*retry_after)),
        ),
        Failure::Unavailable { retry_after } => Status::with_error_details(
            Code::Unavailable,
            "backpressure",
            ErrorDetails::with_retry_info(Some(*retry_after)),
        ),
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let gw = &self.0;
        let start = Instant::now();
        let tenant = match gw
            .auth
            .authenticate_grpc(request.metadata(), super::http::now_secs())
        {
            Ok(t) => t,
            Err(e) => {
                gw.metrics.reject("-", e.reason(), 1);
                gw.metrics
                    .request("-", "otlp_grpc", 401, start.elapsed().as_secs_f64());
                return Err(e.status());
            }
        };
        let _admission = match gw.writer.admit() {
            Ok(p) => p,
            Err(e) => {
                gw.metrics.reject(&tenant, e.reason(), 1);
                gw.metrics
                    .request(&tenant, "otlp_grpc", 503, start.elapsed().as_secs_f64());
                return Err(failure_status(&Failure::Unavailable {
                    retry_after: e.retry_after(),
                }));
            }
        };
        let size = prost::Message::encoded_len(request.get_ref());
        let (_accepted, rejected, message, failure) =
            gw.ingest_otlp(&tenant, request.into_inner(), size).await;
        let (status, result) = match failure {
            Some(f) => (
                match &f {
                    Failure::Quota { .. } => 429,
                    Failure::Unavailable { .. } => 503,
                    Failure::TooLarge { .. } => 413,
                    Failure::Invalid { .. } => 400,
                },
                Err(failure_status(&f)),
            ),
            None => (
                200,
                Ok(Response::new(ExportMetricsServiceResponse {
                    partial_success: (rejected > 0).then_some(ExportMetricsPartialSuccess {
                        rejected_data_points: rejected as i64,
                        error_message: message,
                    }),
                })),
            ),
        };
        gw.metrics
            .request(&tenant, "otlp_grpc", status, start.elapsed().as_secs_f64());
        result
    }
}
