//! A control API client with the bearer token on every call.

use super::pb::control_client::ControlClient;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

pub type Client = ControlClient<InterceptedService<Channel, Bearer>>;

/// Connects to `addr` (`127.0.0.1:50051` or `http://…`) with `token`.
pub async fn connect(addr: &str, token: &str) -> Result<Client, String> {
    let url = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
        .map_err(|e| format!("control address {addr:?}: {e}"))?
        .connect_timeout(std::time::Duration::from_secs(3));
    let channel = endpoint.connect().await.map_err(|e| {
        format!("cannot reach the control API at {url}: {e} (is `gameday up` still running?)")
    })?;
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| "the control token has characters a header cannot carry".to_string())?;
    Ok(ControlClient::with_interceptor(channel, Bearer(value)))
}
