//! A wasi:http component that misbehaves on request, for the sandbox tests:
//! `/loop` never returns, `/alloc` allocates until it cannot, `/forbidden` calls a host the
//! deployment did not allow, and `/ok` answers 200.

use std::io::Write as _;

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingRequest, OutgoingResponse, ResponseOutparam,
    Scheme,
};

wasip2::http::proxy::export!(Probe);

struct Probe;

fn answer(out: ResponseOutparam, status: u16, text: &str) {
    let response = OutgoingResponse::new(Fields::new());
    let _ = response.set_status_code(status);
    let body = response.body().expect("one body");
    ResponseOutparam::set(out, Ok(response));
    let mut stream = body.write().expect("one stream");
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.flush();
    drop(stream);
    let _ = OutgoingBody::finish(body, None);
}

impl wasip2::exports::http::incoming_handler::Guest for Probe {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        match request.path_with_query().as_deref() {
            Some("/loop") => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            Some("/alloc") => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            Some("/forbidden") => {
                let outgoing = OutgoingRequest::new(Fields::new());
                let _ = outgoing.set_scheme(Some(&Scheme::Http));
                let _ = outgoing.set_authority(Some("127.0.0.1:9"));
                let _ = outgoing.set_path_with_query(Some("/"));
                match outgoing_handler::handle(outgoing, None) {
                    Err(code) => answer(out, 502, &format!("refused: {code:?}")),
                    Ok(future) => {
                        future.subscribe().block();
                        match future.get() {
                            Some(Ok(Err(code))) => answer(out, 502, &format!("refused: {code:?}")),
                            Some(Ok(Ok(_))) => answer(out, 200, "the request went out"),
                            _ => answer(out, 500, "no answer"),
                        }
                    }
                }
            }
            _ => answer(out, 200, "ok"),
        }
    }
}
