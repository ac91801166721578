//! A small JSON-over-HTTP/1.1 client for calling the API directly.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Any method, with an optional body and bearer token; returns status and JSON body.
pub async fn call(method: &str, url: &str, body: Option<String>, token: Option<&str>) -> Result<(u16, Value)> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = hyper::Request::builder().method(method).uri(url).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
    let response = client.request(request).await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    let json = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes)? };
    Ok((status, json))
}

/// GET, with an optional bearer token; returns status and JSON body.
pub async fn get(url: &str, token: Option<&str>) -> Result<(u16, Value)> {
    call("GET", url, None, token).await
}

/// POST a raw body, with an optional bearer token; returns status and JSON body.
pub async fn post(url: &str, body: &str, token: Option<&str>) -> Result<(u16, Value)> {
    call("POST", url, Some(body.to_owned()), token).await
}

/// Any request with a raw body and headers (channel webhooks: signatures, forms); returns
/// status, `Content-Type` and body text.
pub async fn raw(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Result<(u16, String, String)> {
    let (status, headers, body) = raw_with_headers(method, url, headers, body).await?;
    let content_type = headers.iter().find(|(n, _)| n == "content-type").map(|(_, v)| v.clone()).unwrap_or_default();
    Ok((status, content_type, body))
}

/// [`raw`], answering every response header (names in lower case) instead of `Content-Type`.
pub async fn raw_with_headers(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, Vec<(String, String)>, String)> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = hyper::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client.request(request.body(Full::new(Bytes::from(body.to_owned())))?).await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, headers, String::from_utf8_lossy(&bytes).into_owned()))
}
