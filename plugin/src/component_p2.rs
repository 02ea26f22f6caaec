//! The HTTP face over `wasi:http@0.2` (`incoming-handler`): the request is read here, and
//! everything else is [`http_face`]. The WASIp3 build has `component_p3` instead.

use crate::bindings::exports::wasi::http::incoming_handler;
use crate::bindings::wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use crate::component::Component;
use crate::error::ConnectorError;
use crate::http_face::{self, Reply};
use crate::wasi_io::{read_to_end, with_env, write_all};

impl incoming_handler::Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let reply = serve(&request);
        drop(request);
        send(reply, response_out);
    }
}

fn serve(request: &IncomingRequest) -> Reply {
    let method = match request.method() {
        Method::Get => "GET".to_string(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other,
    };
    let path = request.path_with_query().unwrap_or_else(|| "/".into());
    let entries = request.headers().entries();
    let (route, headers) = match http_face::accept(
        &method,
        &path,
        entries
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice())),
    ) {
        Ok(accepted) => accepted,
        Err(reply) => return reply,
    };
    let declared = entries
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .filter_map(|(_, v)| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok())
        .max();
    let body = match read_body(request, declared, route.max_body_bytes()) {
        Ok(body) => body,
        Err(error) => return http_face::error_reply(&error),
    };
    with_env(|env| Ok(http_face::respond(env, route, &headers, &body)))
        .unwrap_or_else(|error| http_face::error_reply(&error))
}

/// The body, refused unread when its declared length (`content-length`, from the headers
/// already read) is over `limit`, and refused once more than `limit` bytes arrive.
fn read_body(
    request: &IncomingRequest,
    declared: Option<u64>,
    limit: usize,
) -> Result<Vec<u8>, ConnectorError> {
    let too_large = ConnectorError::TooLarge(limit as u64);
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large);
    }
    let body = request
        .consume()
        .map_err(|()| ConnectorError::Internal("request body already taken".into()))?;
    let stream = body
        .stream()
        .map_err(|()| ConnectorError::Internal("request body stream".into()))?;
    let bytes = read_to_end(&stream, limit)
        .map_err(|e| ConnectorError::InvalidInput(format!("reading the request body: {e}")))?
        .ok_or(too_large)?;
    Ok(bytes)
}

fn send(reply: Reply, response_out: ResponseOutparam) {
    let entries: Vec<(String, Vec<u8>)> = crate::http_face::wire_headers(reply.headers)
        .into_iter()
        .map(|(n, v)| (n, v.into_bytes()))
        .collect();
    let headers = Fields::from_list(&entries).unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(headers);
    if response.set_status_code(reply.status).is_err() {
        let _ = response.set_status_code(500);
    }
    let Ok(body) = response.body() else {
        return;
    };
    ResponseOutparam::set(response_out, Ok(response));
    if let Ok(stream) = body.write() {
        // The client may have gone; there is no one left to tell.
        let _ = write_all(&stream, &reply.body);
        drop(stream);
    }
    let _ = OutgoingBody::finish(body, None);
}
