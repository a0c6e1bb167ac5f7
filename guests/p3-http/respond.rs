// Shared by the p3 HTTP guests (`include!`d, so it uses each crate's own
// bindings): a complete response with a JSON body.

/// A response with `status` and the JSON text `body`.
fn respond(status: u16, body: String) -> wasi::http::types::Response {
    use wasi::http::types::{Fields, Response};
    let headers = Fields::from_list(&[(
        "content-type".to_string(),
        b"application/json".to_vec(),
    )])
    .expect("a valid header");
    let (mut body_tx, body_rx) = wit_stream::new();
    let (_trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
    let (response, _sent) = Response::new(headers, Some(body_rx), trailers_rx);
    response.set_status_code(status).expect("a valid status");
    wit_bindgen::spawn_local(async move {
        body_tx.write_all(format!("{body}\n").into_bytes()).await;
    });
    response
}
