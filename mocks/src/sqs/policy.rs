//! May S3 send to this queue? Evaluates a queue's access policy the way IAM does for
//! the one request that matters here: principal `s3.amazonaws.com` calling
//! `sqs:SendMessage` on the queue, from a bucket (`aws:SourceArn`) of an account
//! (`aws:SourceAccount`). An explicit Deny wins over any Allow; a statement using
//! something this evaluator does not know (NotPrincipal, NotAction, other condition
//! operators or keys) never allows.

use serde_json::Value;

/// What the request looks like to the policy.
struct Request<'a> {
    queue_arn: &'a str,
    bucket_arn: &'a str,
    account: &'a str,
}

/// `*` and `?` wildcards, as IAM's `*Like` operators and action/resource patterns use them.
pub(crate) fn wildcard(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || (p[pi] != b'*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A string or a list of strings; anything else yields nothing.
fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn principal_matches(p: &Value) -> bool {
    match p {
        Value::String(s) => s == "*",
        Value::Object(map) => map.iter().any(|(kind, v)| {
            let names = strings(v);
            match kind.as_str() {
                "Service" => names.contains(&"s3.amazonaws.com"),
                "AWS" => names.contains(&"*"),
                _ => false,
            }
        }),
        _ => false,
    }
}

fn condition_holds(conditions: &Value, req: &Request) -> bool {
    let Some(ops) = conditions.as_object() else {
        return false;
    };
    ops.iter().all(|(op, keys)| {
        let Some(keys) = keys.as_object() else {
            return false;
        };
        keys.iter().all(|(key, wanted)| {
            let actual = match key.to_ascii_lowercase().as_str() {
                "aws:sourcearn" => req.bucket_arn,
                "aws:sourceaccount" => req.account,
                _ => return false,
            };
            let wanted = strings(wanted);
            match op.as_str() {
                "ArnLike" | "ArnEquals" | "StringLike" => {
                    wanted.iter().any(|w| wildcard(w, actual, false))
                }
                "StringEquals" => wanted.contains(&actual),
                _ => false,
            }
        })
    })
}

/// Whether the statement covers S3's SendMessage to this queue.
fn applies(stmt: &Value, req: &Request) -> bool {
    if stmt.get("NotPrincipal").is_some()
        || stmt.get("NotAction").is_some()
        || stmt.get("NotResource").is_some()
    {
        return false;
    }
    let principal = stmt.get("Principal").is_some_and(principal_matches);
    let action = stmt.get("Action").is_some_and(|a| {
        strings(a)
            .iter()
            .any(|pat| wildcard(pat, "sqs:SendMessage", true))
    });
    let resource = stmt.get("Resource").is_none_or(|r| {
        strings(r)
            .iter()
            .any(|pat| wildcard(pat, req.queue_arn, false))
    });
    let condition = stmt
        .get("Condition")
        .is_none_or(|c| condition_holds(c, req));
    principal && action && resource && condition
}

/// Whether `policy` (a queue's Policy attribute) lets S3 send messages from `bucket_arn`.
pub(crate) fn s3_may_send(policy: &str, queue_arn: &str, bucket_arn: &str, account: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let req = Request {
        queue_arn,
        bucket_arn,
        account,
    };
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return false,
    };
    let mut allowed = false;
    for stmt in statements {
        if !applies(stmt, &req) {
            continue;
        }
        match stmt.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return false,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    allowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:events";
    const BUCKET: &str = "arn:aws:s3:::telemetry";
    const ACCOUNT: &str = "000000000000";

    fn may(stmts: Value) -> bool {
        let doc = json!({"Version": "2012-10-17", "Statement": stmts}).to_string();
        s3_may_send(&doc, QUEUE, BUCKET, ACCOUNT)
    }

    fn allow(extra: Value) -> Value {
        let mut s = json!({
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": QUEUE,
        });
        if let (Some(s), Some(extra)) = (s.as_object_mut(), extra.as_object()) {
            s.extend(extra.clone());
        }
        s
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("arn:aws:s3:::tele*", BUCKET, false));
        assert!(wildcard("*", "", false));
        assert!(wildcard("a?c*", "abcdef", false));
        assert!(!wildcard("arn:aws:s3:::other*", BUCKET, false));
        assert!(wildcard("SQS:send*", "sqs:SendMessage", true));
        assert!(!wildcard("sqs:Receive*", "sqs:SendMessage", true));
    }

    #[test]
    fn principals_and_actions_aws_accepts() {
        assert!(may(json!([allow(json!({}))])));
        assert!(may(json!(allow(
            json!({"Principal": "*", "Action": ["sqs:*"]})
        ))));
        assert!(may(json!([allow(
            json!({"Principal": {"AWS": "*"}, "Action": "*"})
        )])));
        assert!(may(json!([allow(
            json!({"Principal": {"Service": ["lambda.amazonaws.com", "s3.amazonaws.com"]}})
        )])));
        assert!(!may(json!([allow(
            json!({"Principal": {"Service": "sns.amazonaws.com"}})
        )])));
        assert!(!may(json!([allow(
            json!({"Action": "sqs:ReceiveMessage"})
        )])));
        assert!(!may(json!([allow(
            json!({"Resource": "arn:aws:sqs:us-east-1:000000000000:other"})
        )])));
        assert!(!may(json!([allow(json!({"Effect": "Deny"}))])));
        assert!(!may(json!([])));
    }

    #[test]
    fn source_conditions_must_match_the_bucket() {
        let on = |op: &str, arn: &str| json!({"Condition": {op: {"aws:SourceArn": arn}}});
        assert!(may(json!([allow(on("ArnLike", BUCKET))])));
        assert!(may(json!([allow(on("ArnEquals", BUCKET))])));
        assert!(may(json!([allow(on("ArnLike", "arn:aws:s3:::tele*"))])));
        assert!(!may(json!([allow(on("ArnLike", "arn:aws:s3:::other"))])));
        assert!(!may(json!([allow(on("ArnNotLike", "arn:aws:s3:::other"))])));
        assert!(may(json!([allow(json!({"Condition": {
            "ArnLike": {"aws:SourceArn": ["arn:aws:s3:::x", BUCKET]},
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
        }}))])));
        assert!(!may(json!([allow(json!({"Condition": {
            "StringEquals": {"aws:SourceAccount": "111111111111"},
        }}))])));
    }

    #[test]
    fn an_explicit_deny_wins() {
        assert!(!may(json!([
            allow(json!({})),
            {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"},
        ])));
    }
}
