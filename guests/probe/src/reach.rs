//! The probes themselves, shared by `probe` and `probe-front`: plain std
//! for files and environment, `wasi:http/outgoing-handler` for HTTP.

/// The text of the file at `path`, or the I/O error's kind.
pub fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{:?}", e.kind()))
}

/// The environment variable `name`.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `GET http://AUTHORITY/`: the status, or the `wasi:http` error code.
pub fn fetch(authority: &str) -> Result<u16, String> {
    http_util::get_status(authority)
}
