//! `http-geo`: an HTTP front for the geo sidecar, the fixture for `serve`
//! with a linked (in-process or remote) typed import.
//!
//! - `GET /where?city=C`: `{"city":C,"lat":…,"lon":…}`, or 502 with the
//!   lookup's error (an unknown city, or a remote link that failed).

use http_util::respond_json;
use wasip2::http::types::{IncomingRequest, ResponseOutparam};

wit_bindgen::generate!({ path: "../geo/wit", world: "lookup-client" });

use example::geo::lookup::find;

struct Front;

wasip2::http::proxy::export!(Front);

impl wasip2::exports::http::incoming_handler::Guest for Front {
    fn handle(req: IncomingRequest, out: ResponseOutparam) {
        let path = req.path_with_query().unwrap_or_default();
        let Some(city) = path.strip_prefix("/where?city=") else {
            return respond_json(out, 404, r#"{"error":"not found"}"#);
        };
        match find(city) {
            Ok(at) => respond_json(
                out,
                200,
                &format!(r#"{{"city":"{city}","lat":{},"lon":{}}}"#, at.lat, at.lon),
            ),
            Err(e) => respond_json(out, 502, &format!(r#"{{"error":{e:?}}}"#)),
        }
    }
}
