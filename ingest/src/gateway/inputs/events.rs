//! JSON game events (`POST /v1/events`): `{"events":[{event_id, event_type, event_name,
//! event_timestamp, app_version, event_data}]}`, judged per record. Unknown fields, wrong
//! types, missing fields, oversize records and unparseable timestamps fail that record
//! with a reason; the other records go on.

use crate::envelope::Event;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    events: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventIn {
    event_id: String,
    event_type: String,
    event_name: String,
    event_timestamp: Timestamp,
    app_version: String,
    event_data: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Timestamp {
    EpochMs(i64),
    Text(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("body is not an events batch: {0}")]
    Schema(String),
    #[error("a batch holds at most {0} events")]
    TooMany(usize),
    #[error("a batch holds at least one event")]
    Empty,
}

impl BatchError {
    pub fn reason(&self) -> &'static str {
        match self {
            BatchError::Schema(_) => "bad_schema",
            BatchError::TooMany(_) => "too_many_events",
            BatchError::Empty => "empty_batch",
        }
    }
}

/// A parsed record, or the reason it was refused; `data` is kept for PII checks.
pub type Parsed = Result<(Event, serde_json::Value), &'static str>;

pub fn parse(
    body: &[u8],
    max_events: usize,
    max_event_bytes: usize,
) -> Result<Vec<Parsed>, BatchError> {
    let batch: Batch =
        serde_json::from_slice(body).map_err(|e| BatchError::Schema(e.to_string()))?;
    if batch.events.is_empty() {
        return Err(BatchError::Empty);
    }
    if batch.events.len() > max_events {
        return Err(BatchError::TooMany(max_events));
    }
    Ok(batch
        .events
        .into_iter()
        .map(|v| parse_one(v, max_event_bytes))
        .collect())
}

fn parse_one(v: serde_json::Value, max_bytes: usize) -> Parsed {
    let size = serde_json::to_vec(&v)
        .map(|b| b.len())
        .unwrap_or(usize::MAX);
    if size > max_bytes {
        return Err("event_too_large");
    }
    let e: EventIn = serde_json::from_value(v).map_err(|_| "bad_schema")?;
    if e.event_id.is_empty() || e.event_id.len() > 128 {
        return Err("bad_event_id");
    }
    if e.event_type.is_empty() || e.event_name.is_empty() {
        return Err("bad_schema");
    }
    let ts = match e.event_timestamp {
        Timestamp::EpochMs(ms) => ms,
        Timestamp::Text(t) => {
            let parsed =
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| "bad_timestamp")?;
            (parsed.unix_timestamp_nanos() / 1_000_000) as i64
        }
    };
    let data = serde_json::Value::Object(e.event_data);
    Ok((
        Event {
            event_id: e.event_id,
            event_type: e.event_type,
            event_name: e.event_name,
            event_timestamp_ms: ts,
            app_version: e.app_version,
            event_data_json: data.to_string(),
        },
        data,
    ))
}

/// One record's outcome in the response.
pub enum Outcome {
    Ok,
    Error(&'static str),
}

/// `{Total, FailedRecordCount, Events:[{Result, ErrorCode}]}`.
pub fn response_body(outcomes: &[Outcome]) -> serde_json::Value {
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Error(_)))
        .count();
    serde_json::json!({
        "Total": outcomes.len(),
        "FailedRecordCount": failed,
        "Events": outcomes.iter().map(|o| match o {
            Outcome::Ok => serde_json::json!({"Result": "Ok"}),
            Outcome::Error(code) => serde_json::json!({"Result": "Error", "ErrorCode": code}),
        }).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_each_record() {
        let body = br#"{"events":[
            {"event_id":"a","event_type":"match","event_name":"end","event_timestamp":"2026-11-26T08:00:00Z","app_version":"1.2","event_data":{"score":3}},
            {"event_id":"b","event_type":"match","event_name":"end","event_timestamp":1795680000000,"app_version":"1.2","event_data":{},"extra":1},
            {"event_id":"c","event_type":"match","event_name":"end","event_timestamp":"yesterday","app_version":"1.2","event_data":{}},
            {"event_id":"d","event_type":"match","event_name":"end","event_timestamp":5,"app_version":"1.2","event_data":"not an object"}
        ]}"#;
        let r = parse(body, 500, 1 << 16).unwrap();
        let (e, _) = r[0].as_ref().unwrap();
        assert_eq!(e.event_timestamp_ms, 1_795_680_000_000);
        assert_eq!(e.event_data_json, r#"{"score":3}"#);
        assert_eq!(r[1].as_ref().unwrap_err(), &"bad_schema");
        assert_eq!(r[2].as_ref().unwrap_err(), &"bad_timestamp");
        assert_eq!(r[3].as_ref().unwrap_err(), &"bad_schema");
        assert_eq!(
            parse(b"{\"events\":[],\"x\":1}", 5, 10)
                .unwrap_err()
                .reason(),
            "bad_schema"
        );
        assert_eq!(
            parse(b"{\"events\":[]}", 5, 10).unwrap_err(),
            BatchError::Empty
        );
    }
}
