//! The HTTP face over WASIp3 (`wasi:http/handler@0.3.0`, exported by spin-sdk 7): the request
//! is read asynchronously here, and everything else is [`http_face`] with the same
//! environment as the 0.2 build (outbound calls, key-value and config through the same
//! imports), so only this adapter differs between the two builds.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use spin_sdk::http::{Request, Response};
use spin_sdk::http_service;

use crate::error::ConnectorError;
use crate::http_face::{self, Reply};
use crate::wasi_io::with_env;

#[http_service]
async fn handle(request: Request) -> Response<Full<Bytes>> {
    reply(serve(request).await)
}

async fn serve(request: Request) -> Reply {
    let (route, headers) = match http_face::accept_http(&request) {
        Ok(accepted) => accepted,
        Err(reply) => return reply,
    };
    let body = match read_body(request, route.max_body_bytes()).await {
        Ok(body) => body,
        Err(error) => return http_face::error_reply(&error),
    };
    with_env(|env| Ok(http_face::respond(env, route, &headers, &body)))
        .unwrap_or_else(|error| http_face::error_reply(&error))
}

async fn read_body(request: Request, limit: usize) -> Result<Vec<u8>, ConnectorError> {
    let too_large = ConnectorError::TooLarge(limit as u64);
    let declared = request
        .headers()
        .get_all("content-length")
        .iter()
        .filter_map(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .max();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large);
    }
    let mut body = request.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ConnectorError::InvalidInput(format!("reading the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                return Err(too_large);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

fn reply(reply: Reply) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(reply.status);
    for (name, value) in crate::http_face::wire_headers(reply.headers) {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|_| {
            let mut fallback = Response::new(Full::new(Bytes::from_static(
                br#"{"error":{"code":"internal","message":"invalid response headers"}}"#,
            )));
            *fallback.status_mut() = spin_sdk::http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}
