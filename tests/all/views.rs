//! Per-component grants inside one composed pod: `probe-front` and its
//! `probe` sidecar, granted different directories, environment variables
//! and HTTP hosts, each reach their own and fail on the other's as an
//! ungranted run would, in `up` and in `serve`.

use crate::pods::up;
use crate::support::*;
use std::path::{Path, PathBuf};
use test_programs_artifacts::{P3_HTTP_APP, P3_HTTP_AUTH, PROBE, PROBE_FRONT};

/// A pod of `probe-front` (granted `front`, a TOML inline table's body)
/// and its `probe` sidecar (granted `sidecar`), in a directory holding
/// `front-data/note.txt` and `sidecar-data/note.txt`.
fn probe_pod(front: &str, sidecar: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for who in ["front", "sidecar"] {
        let data = dir.path().join(format!("{who}-data"));
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join("note.txt"), format!("{who}'s note")).unwrap();
    }
    let manifest = format!(
        "entry = \"front\"\n\
         [components.front]\nfile = \"{PROBE_FRONT}\"\ngrants = {{ {front} }}\n\
         [components.sidecar]\nfile = \"{PROBE}\"\ngrants = {{ {sidecar} }}\n\
         [[link]]\nfrom = \"front\"\nimport = \"example:probe/probe\"\nto = \"sidecar\"\n"
    );
    let path = dir.path().join("pod.toml");
    std::fs::write(&path, manifest).unwrap();
    (dir, path)
}

/// `up POD --invoke FUNCTION ARG`: (exit code, stdout, the last line of
/// stderr).
fn probe(pod: &Path, function: &str, arg: &str) -> (i32, String, String) {
    let o = up(pod, &["--invoke", function, arg]);
    (
        o.status.code().unwrap_or(-1),
        stdout(&o),
        last_line(&stderr(&o)),
    )
}

fn last_line(text: &str) -> String {
    text.lines().last().unwrap_or_default().to_string()
}

/// How the guest spells `wasi:http`'s `HTTP-request-denied`.
const DENIED: &str = "ErrorCode::HttpRequestDenied";

fn ok(text: &str) -> (i32, String, String) {
    (0, format!("{text}\n"), String::new())
}

fn err(text: &str) -> (i32, String, String) {
    (1, String::new(), format!("error: {text}"))
}

#[test]
fn each_component_reads_only_its_own_directory() {
    let (_dir, pod) = probe_pod(
        "ro-dirs = [\"front-data::/front\"]",
        "ro-dirs = [\"sidecar-data::/keys\"]",
    );
    assert_eq!(
        probe(&pod, "read-file", "/front/note.txt"),
        ok("front's note")
    );
    assert_eq!(
        probe(&pod, "sidecar-read-file", "/keys/note.txt"),
        ok("sidecar's note")
    );
    // The other's directory is missing, as it is for a run not granted it.
    assert_eq!(probe(&pod, "read-file", "/keys/note.txt"), err("NotFound"));
    assert_eq!(
        probe(&pod, "sidecar-read-file", "/front/note.txt"),
        err("NotFound")
    );
    let alone = run(&["run", PROBE, "--invoke", "read", "/keys/note.txt"]);
    assert_eq!(last_line(&stderr(&alone)), "error: NotFound");

    // The same guest path, a different directory for each.
    let (_dir, pod) = probe_pod(
        "ro-dirs = [\"front-data::/data\"]",
        "ro-dirs = [\"sidecar-data::/data\"]",
    );
    assert_eq!(
        probe(&pod, "read-file", "/data/note.txt"),
        ok("front's note")
    );
    assert_eq!(
        probe(&pod, "sidecar-read-file", "/data/note.txt"),
        ok("sidecar's note")
    );
}

#[test]
fn each_component_sees_only_its_own_environment() {
    let (_dir, pod) = probe_pod(
        "env = [\"ROLE=front\", \"FRONT_ONLY=1\"]",
        "env = [\"ROLE=sidecar\", \"KEY=k\"]",
    );
    assert_eq!(probe(&pod, "env-var", "ROLE"), ok("some(\"front\")"));
    assert_eq!(
        probe(&pod, "sidecar-env-var", "ROLE"),
        ok("some(\"sidecar\")")
    );
    assert_eq!(probe(&pod, "sidecar-env-var", "KEY"), ok("some(\"k\")"));
    assert_eq!(probe(&pod, "env-var", "KEY"), ok("none"));
    assert_eq!(probe(&pod, "sidecar-env-var", "FRONT_ONLY"), ok("none"));
}

#[test]
fn each_component_reaches_only_its_own_http_hosts() {
    let (front_host, front_origin) = http_origin(1);
    let (sidecar_host, sidecar_origin) = http_origin(1);
    let (_dir, pod) = probe_pod(
        &format!("allow-http = [\"{front_host}\"]"),
        &format!("allow-http = [\"{sidecar_host}\"]"),
    );
    // Refused before anything is sent, with the error a missing grant gives.
    assert_eq!(probe(&pod, "fetch", &sidecar_host), err(DENIED));
    assert_eq!(probe(&pod, "sidecar-fetch", &front_host), err(DENIED));
    let alone = run(&["run", PROBE, "--invoke", "fetch", &front_host]);
    assert_eq!(last_line(&stderr(&alone)), format!("error: {DENIED}"));
    assert_eq!(probe(&pod, "fetch", &front_host), ok("200"));
    assert_eq!(probe(&pod, "sidecar-fetch", &sidecar_host), ok("200"));
    assert_eq!(front_origin.join().unwrap(), 1);
    assert_eq!(sidecar_origin.join().unwrap(), 1);
}

#[test]
fn a_component_granted_no_http_is_denied_not_trapped() {
    let (sidecar_host, sidecar_origin) = http_origin(1);
    let (_dir, pod) = probe_pod("", &format!("allow-http = [\"{sidecar_host}\"]"));
    assert_eq!(probe(&pod, "fetch", &sidecar_host), err(DENIED));
    assert_eq!(probe(&pod, "sidecar-fetch", &sidecar_host), ok("200"));
    assert_eq!(sidecar_origin.join().unwrap(), 1);
}

#[test]
fn serve_gives_each_component_its_own_grants() {
    let (front_host, front_origin) = http_origin(1);
    let (sidecar_host, sidecar_origin) = http_origin(1);
    let (dir, pod) = probe_pod(
        &format!(
            "ro-dirs = [\"front-data::/data\"], env = [\"ROLE=front\"], allow-http = [\"{front_host}\"]"
        ),
        &format!(
            "ro-dirs = [\"sidecar-data::/keys\"], env = [\"ROLE=sidecar\"], allow-http = [\"{sidecar_host}\"]"
        ),
    );
    let server = Server::serve(&[pod.to_str().unwrap()], Some(dir));
    let cases = [
        ("/front/read/data/note.txt", "Ok(\"front's note\")"),
        ("/front/read/keys/note.txt", "Err(\"NotFound\")"),
        ("/sidecar/read/keys/note.txt", "Ok(\"sidecar's note\")"),
        ("/sidecar/read/data/note.txt", "Err(\"NotFound\")"),
        ("/front/env/ROLE", "Some(\"front\")"),
        ("/sidecar/env/ROLE", "Some(\"sidecar\")"),
        (
            &format!("/front/fetch/{sidecar_host}"),
            "Err(\"ErrorCode::HttpRequestDenied\")",
        ),
        (
            &format!("/sidecar/fetch/{front_host}"),
            "Err(\"ErrorCode::HttpRequestDenied\")",
        ),
        (&format!("/front/fetch/{front_host}"), "Ok(200)"),
        (&format!("/sidecar/fetch/{sidecar_host}"), "Ok(200)"),
    ];
    for (path, outcome) in cases {
        assert_eq!(server.get(path, &[]), (200, outcome.to_string()), "{path}");
    }
    assert_eq!(front_origin.join().unwrap(), 1);
    assert_eq!(sidecar_origin.join().unwrap(), 1);
}

#[test]
fn an_own_grant_through_a_wasi_0_3_entry_point_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pod.toml");
    std::fs::write(
        &manifest,
        format!(
            "entry = \"auth\"\n\
             [components.auth]\nfile = \"{P3_HTTP_AUTH}\"\ngrants = {{ env = [\"AUTH_TOKEN=t\"] }}\n\
             [components.app]\nfile = \"{P3_HTTP_APP}\"\ngrants = {{ env = [\"MODE=app\"] }}\n\
             [[link]]\nfrom = \"auth\"\nimport = \"wasi:http/handler\"\nto = \"app\"\n"
        ),
    )
    .unwrap();
    let o = run(&["inspect", manifest.to_str().unwrap()]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(
            "`auth` is granted `env` of its own, which a pod gives through WASI 0.2's `environment`, but it imports `wasi:cli/environment@0.3.0`"
        ),
        "{}",
        stderr(&o)
    );
}
