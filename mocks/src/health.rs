//! `GET /_gameday/health`: state and every counter as JSON. `GET /_localstack/health`
//! answers LocalStack's shape so scripts that wait on it work unchanged.

use crate::server::Emulator;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use std::sync::Arc;

fn services() -> Value {
    json!({"kinesis": "running", "s3": "running", "sqs": "running"})
}

pub async fn localstack(State(_emu): State<Arc<Emulator>>) -> Json<Value> {
    Json(json!({
        "services": services(),
        "edition": "community",
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

pub async fn gameday(State(emu): State<Arc<Emulator>>) -> Json<Value> {
    let faults: Vec<Value> = emu
        .ctx
        .faults
        .list()
        .into_iter()
        .map(|(id, f)| json!({"id": id.0, "fault": f}))
        .collect();
    Json(json!({
        "services": services(),
        "edition": "gameday",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_ms": emu.uptime_ms(),
        "limits": emu.ctx.config.kinesis,
        "faults": faults,
        "counters": emu.ctx.counters.snapshot(),
        "kinesis": emu.kinesis.health(),
        "s3": emu.s3.health(),
        "sqs": emu.sqs.health(),
    }))
}
