//! What the HTTP example guests share: reading a request, answering,
//! passing a request on to the next handler of a `nanopod serve` chain
//! (a middleware's `wasi:http/outgoing-handler` is the next handler), and
//! a plain outbound `GET` ([`get_status`]).

use std::io::{Read as _, Write as _};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingRequest,
    OutgoingResponse, ResponseOutparam, Scheme,
};

/// Request header listing the middlewares a request passed, in order.
pub const CHAIN_HEADER: &str = "x-nanopod-chain";

/// Headers that belong to one connection, never copied between hops.
const HOP_BY_HOP: &[&str] = &[
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
    "host", "http2-settings", "content-length",
];

/// The first value of header `name`, as text.
pub fn header(req: &IncomingRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The method as HTTP spells it.
pub fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other,
    }
}

/// Traps (a panic is a trap) when the request's `x-trap` header names
/// `me`: how the tests show that a failing component fails only the
/// request that reached it.
pub fn trap_if_asked(req: &IncomingRequest, me: &str) {
    if header(req, "x-trap").as_deref() == Some(me) {
        panic!("{me}: asked to trap by x-trap");
    }
}

/// Answers with `status`, extra `headers` and `body`.
pub fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let entries: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    send(out, status, entries, body);
}

/// A JSON answer.
pub fn respond_json(out: ResponseOutparam, status: u16, json: &str) {
    respond(out, status, &[("content-type", "application/json")], json.as_bytes());
}

fn send(out: ResponseOutparam, status: u16, headers: Vec<(String, Vec<u8>)>, body: &[u8]) {
    let fields = Fields::from_list(&headers).expect("valid response headers");
    let resp = OutgoingResponse::new(fields);
    resp.set_status_code(status).expect("valid status");
    let out_body = resp.body().expect("response body");
    ResponseOutparam::set(out, Ok(resp));
    let mut stream = out_body.write().expect("response body stream");
    stream.write_all(body).expect("write response body");
    stream.flush().expect("flush response body");
    drop(stream);
    OutgoingBody::finish(out_body, None).expect("finish response body");
}

fn read_all(body: IncomingBody) -> Vec<u8> {
    try_read_all(body).expect("read body")
}

/// `body` to its end, or `None` when it cannot be read (a malformed
/// chunked body, a peer gone).
fn try_read_all(body: IncomingBody) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut stream = body.stream().ok()?;
    stream.read_to_end(&mut bytes).ok()?;
    drop(stream);
    Some(bytes)
}

/// The request's body, or `None` when it cannot be read to its end (a
/// malformed chunked body, a client gone).
pub fn try_request_body(req: &IncomingRequest) -> Option<Vec<u8>> {
    try_read_all(req.consume().ok()?)
}

fn copy_headers(fields: &Fields) -> Vec<(String, Vec<u8>)> {
    fields
        .entries()
        .into_iter()
        .filter(|(k, _)| !HOP_BY_HOP.contains(&k.to_ascii_lowercase().as_str()))
        .collect()
}

/// Passes `req` to the next handler, with `me` appended to the chain
/// header, and answers with its response. When the next handler fails, the
/// failure is passed up as this handler's own.
pub fn forward(req: IncomingRequest, out: ResponseOutparam, me: &str) {
    let mut headers = copy_headers(&req.headers());
    let chain = match header(&req, CHAIN_HEADER) {
        Some(c) => format!("{c},{me}"),
        None => me.to_string(),
    };
    headers.retain(|(k, _)| k != CHAIN_HEADER);
    headers.push((CHAIN_HEADER.into(), chain.into_bytes()));
    // What the next request cannot carry is the client's mistake: 400,
    // never a panic.
    let Ok(fields) = Fields::from_list(&headers) else {
        return respond(out, 400, &[], b"bad request: headers\n");
    };
    let outgoing = OutgoingRequest::new(fields);
    let method: Method = req.method();
    let valid = outgoing.set_method(&method).is_ok()
        && outgoing.set_path_with_query(req.path_with_query().as_deref()).is_ok()
        && outgoing.set_scheme(Some(&Scheme::Http)).is_ok()
        && outgoing.set_authority(req.authority().as_deref()).is_ok();
    if !valid {
        return respond(out, 400, &[], b"bad request: target\n");
    }
    let Some(body) = try_request_body(&req) else {
        return respond(out, 400, &[], b"bad request: body\n");
    };
    let out_body = outgoing.body().expect("request body");
    let pending = match outgoing_handler::handle(outgoing, None) {
        Ok(pending) => pending,
        Err(e) => return ResponseOutparam::set(out, Err(e)),
    };
    // The next handler may answer without reading the body and close it:
    // then the body is not wanted, and its write errors do not matter.
    if let Ok(mut stream) = out_body.write() {
        if stream.write_all(&body).is_ok() {
            let _ = stream.flush();
        }
    }
    let _ = OutgoingBody::finish(out_body, None);
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return ResponseOutparam::set(out, Err(e)),
        _ => return ResponseOutparam::set(out, Err(ErrorCode::InternalError(None))),
    };
    let status = response.status();
    let headers = copy_headers(&response.headers());
    let body = read_all(response.consume().expect("response body"));
    send(out, status, headers, &body);
}

/// `GET http://AUTHORITY/` through `wasi:http/outgoing-handler`: the
/// response status, or the error in its debug form
/// (`ErrorCode::HttpRequestDenied`).
pub fn get_status(authority: &str) -> Result<u16, String> {
    let request = OutgoingRequest::new(Fields::new());
    request.set_scheme(Some(&Scheme::Http)).unwrap();
    request.set_authority(Some(authority)).unwrap();
    request.set_path_with_query(Some("/")).unwrap();
    let body = request.body().unwrap();
    OutgoingBody::finish(body, None).map_err(|e| format!("{e:?}"))?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("no response")?
        .map_err(|()| "response taken twice")?
        .map_err(|e| format!("{e:?}"))?;
    Ok(response.status())
}
