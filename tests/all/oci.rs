//! Components from OCI registries (issue 15, part 1), against a real
//! registry (Debian's `docker-registry`) on loopback: plain HTTP, and TLS
//! with a self-signed certificate and basic auth.

use crate::support::*;
use std::path::Path;
use std::process::Output;
use test_programs_artifacts::{HELLO_P1, KITCHEN};
use test_support::Registry;

/// One user's machine: a cache of pulled components and a docker config
/// folder of their own, nothing inherited from the machine running the
/// tests.
struct Client {
    home: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Client {
    fn new() -> Client {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join("docker")).unwrap();
        Client {
            home,
            env: Vec::new(),
        }
    }

    /// A client that speaks plain HTTP to `registry`.
    fn insecure(registry: &Registry) -> Client {
        Client::new().with("NANOPOD_INSECURE_REGISTRIES", &registry.addr())
    }

    fn with(mut self, name: &str, value: &str) -> Client {
        self.env.push((name.into(), value.into()));
        self
    }

    fn cache(&self) -> std::path::PathBuf {
        self.home.path().join("oci")
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = nanopod();
        command
            .env("NANOPOD_OCI_CACHE", self.cache())
            .env("DOCKER_CONFIG", self.home.path().join("docker"))
            .env_remove("NANOPOD_REGISTRY_USERNAME")
            .env_remove("NANOPOD_REGISTRY_PASSWORD")
            .env_remove("NANOPOD_INSECURE_REGISTRIES")
            .env_remove("NANOPOD_OFFLINE");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command.args(args).output().expect("spawn nanopod")
    }

    /// Pushes `file` as `reference`; returns the pinned reference printed.
    fn push(&self, file: &str, reference: &str) -> String {
        let o = self.run(&["push", file, reference]);
        assert_exit(&o, 0);
        let pinned = stdout(&o).trim().to_string();
        assert!(pinned.contains("@sha256:"), "{pinned}");
        pinned
    }
}

/// A registry on loopback with the kitchen component pushed as
/// `REPO:TAG` by a client of its own: the registry, that client, the
/// tag's reference and the pinned one `push` printed.
fn published(repo_tag: &str) -> (Registry, Client, String, String) {
    let registry = Registry::start();
    let client = Client::insecure(&registry);
    let tag = format!("oci://{}/{repo_tag}", registry.addr());
    let pinned = client.push(guest(KITCHEN), &tag);
    (registry, client, tag, pinned)
}

fn one_line_error(o: &Output, expected: &str) {
    assert_exit(o, 2);
    let err = stderr(o);
    assert!(err.contains(expected), "expected {expected:?} in {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

fn layer_digest(client: &Client) -> String {
    let blobs = client.cache().join("blobs/sha256");
    let names: Vec<_> = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    format!("sha256:{}", names[0])
}

#[test]
fn a_pushed_component_is_pulled_verified_and_run_by_tag_and_by_digest() {
    let (registry, client, tag, pinned) = published("tools/kitchen:1");
    assert!(pinned.starts_with(&format!("oci://{}/tools/kitchen@sha256:", registry.addr())));

    let out = client.home.path().join("kitchen.wasm");
    let o = client.run(&["pull", &tag, "-o", out.to_str().unwrap()]);
    assert_exit(&o, 0);
    assert_eq!(
        stdout(&o).trim(),
        pinned,
        "pull prints the pinned reference"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(guest(KITCHEN)).unwrap()
    );

    for reference in [&tag, &pinned] {
        let o = client.run(&["run", reference, "--invoke", "add", "2", "40"]);
        assert_exit(&o, 0);
        assert_eq!(stdout(&o), "42\n");
    }
    let o = client.run(&["inspect", &tag]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("add: func(a: u32, b: u32) -> u32"),
        "{}",
        stdout(&o)
    );

    // A WASI preview1 module travels the same way and runs as a command.
    let module = format!("oci://{}/hello-p1:latest", registry.addr());
    client.push(guest(HELLO_P1), &module);
    let o = client.run(&["run", &module]);
    assert_exit(&o, 0);
    assert!(!stdout(&o).is_empty());

    // The second run needs no network: the registry is gone.
    drop(registry);
    for args in [
        vec!["run", &tag, "--invoke", "add", "1", "1"],
        vec!["--offline", "run", &pinned, "--invoke", "add", "1", "1"],
    ] {
        let o = client.run(&args);
        assert_exit(&o, 0);
        assert_eq!(stdout(&o), "2\n");
    }
    // `pull` refreshes a tag, so it needs the registry…
    let o = client.run(&["pull", &tag]);
    one_line_error(&o, "cannot reach the registry");
    // …unless offline, where the cache answers.
    let o = client.run(&["pull", "--offline", &tag]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o).trim(), pinned);
}

#[test]
fn offline_with_an_empty_cache_names_the_pull_to_run() {
    let client = Client::new().with("NANOPOD_OFFLINE", "1");
    let o = client.run(&["run", "oci://127.0.0.1:9/app:1"]);
    one_line_error(
        &o,
        "error: oci://127.0.0.1:9/app:1 is not in the local cache and nanopod is offline: run `nanopod pull oci://127.0.0.1:9/app:1` online first",
    );
}

#[test]
fn unknown_tags_bad_references_and_a_registry_that_is_down_are_one_line_errors() {
    let registry = Registry::start();
    let client = Client::insecure(&registry);
    let unknown = format!("oci://{}/nothing:here", registry.addr());
    one_line_error(
        &client.run(&["run", &unknown]),
        "does not exist in its registry",
    );
    let wrong_digest = format!(
        "oci://{}/nothing@sha256:{}",
        registry.addr(),
        "0".repeat(64)
    );
    one_line_error(
        &client.run(&["pull", &wrong_digest]),
        "does not exist in its registry",
    );
    one_line_error(
        &client.run(&["run", "oci://kitchen:1"]),
        "`oci://kitchen:1` is not a registry reference",
    );
    one_line_error(
        &client.run(&[
            "push",
            guest(KITCHEN),
            "oci://127.0.0.1:5000/kitchen@sha256:abc",
        ]),
        "is not a registry reference",
    );
    let down = format!("oci://127.0.0.1:{}/kitchen:1", free_port());
    one_line_error(
        &client.run(&["run", &down]),
        "cannot reach the registry 127.0.0.1:",
    );
    one_line_error(
        &client.run(&["push", guest(KITCHEN), &down]),
        "cannot reach the registry 127.0.0.1:",
    );
    // Pushing what is not WebAssembly is refused before any upload.
    let text = client.home.path().join("notes.txt");
    std::fs::write(&text, "not wasm").unwrap();
    let tag = format!("oci://{}/notes:1", registry.addr());
    let o = client.run(&["push", text.to_str().unwrap(), &tag]);
    one_line_error(&o, "notes.txt` is not a WebAssembly component or module");
}

/// A registry whose stored blob was altered, or cut short, serves bytes
/// that do not match the manifest: the pull is refused and the cache
/// keeps nothing.
#[test]
fn a_corrupt_or_truncated_layer_is_refused_and_nothing_is_cached() {
    let (registry, _publisher, tag, _) = published("kitchen:1");
    let probe = Client::insecure(&registry);
    assert_exit(&probe.run(&["pull", &tag]), 0);
    let blob = registry.blob_file(&layer_digest(&probe));
    let original = std::fs::read(&blob).unwrap();

    let mut corrupt = original.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    std::fs::write(&blob, &corrupt).unwrap();
    let client = Client::insecure(&registry);
    let o = client.run(&["run", &tag, "--invoke", "add", "1", "2"]);
    one_line_error(&o, "the registry sent the layer with digest sha256:");
    assert!(stderr(&o).contains("nothing was cached"), "{}", stderr(&o));
    assert_no_blob(client.cache().as_path());

    std::fs::write(&blob, &original[..original.len() - 1000]).unwrap();
    let o = client.run(&["pull", &tag]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(&format!("of its {} bytes", original.len())),
        "{}",
        stderr(&o)
    );
    assert_no_blob(client.cache().as_path());

    // Repaired, the same client pulls it.
    std::fs::write(&blob, &original).unwrap();
    assert_exit(&client.run(&["pull", &tag]), 0);
}

fn assert_no_blob(cache: &Path) {
    let blobs = cache.join("blobs/sha256");
    let left: Vec<_> = std::fs::read_dir(&blobs)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in the cache: {left:?}");
}

/// A manifest that declares a layer larger than nanopod loads is refused
/// before a byte of it is downloaded.
#[test]
fn a_huge_layer_is_refused_from_its_manifest() {
    let (registry, client, tag, _) = published("kitchen:1");
    assert_exit(&client.run(&["pull", &tag]), 0);
    let layer = layer_digest(&client);
    let manifest = curl(&[
        "-H",
        "Accept: application/vnd.oci.image.manifest.v1+json",
        &format!("http://{}/v2/kitchen/manifests/1", registry.addr()),
    ]);
    let mut huge: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(huge["layers"][0]["digest"], layer.as_str());
    huge["layers"][0]["size"] = (600u64 << 20).into();
    let manifest_file = client.home.path().join("huge.json");
    std::fs::write(&manifest_file, huge.to_string()).unwrap();
    curl(&[
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/vnd.oci.image.manifest.v1+json",
        "--data-binary",
        &format!("@{}", manifest_file.display()),
        &format!("http://{}/v2/kitchen/manifests/huge", registry.addr()),
    ]);
    let fresh = Client::insecure(&registry);
    let o = fresh.run(&["pull", &format!("oci://{}/kitchen:huge", registry.addr())]);
    one_line_error(
        &o,
        "has a 629145600-byte layer, larger than the 536870912 bytes nanopod loads",
    );
    assert_no_blob(fresh.cache().as_path());
}

fn curl(args: &[&str]) -> Vec<u8> {
    let o = std::process::Command::new("curl")
        .args(["-sS", "--fail"])
        .args(args)
        .output()
        .expect("curl");
    assert!(o.status.success(), "curl {args:?}: {}", stderr(&o));
    o.stdout
}

#[test]
fn a_tls_registry_with_basic_auth_takes_credentials_from_the_environment_or_docker_config() {
    let password = "s3cret-Pa55";
    let registry = Registry::start_tls_with_auth("ci", password);
    let ca = registry.ca().unwrap();
    let ca = ca.to_str().unwrap();
    let tag = format!("oci://{}/kitchen:1", registry.addr());

    // Without the CA, the self-signed certificate is not trusted.
    let o = Client::new().run(&["push", guest(KITCHEN), &tag]);
    one_line_error(&o, "cannot reach the registry");

    // Trusted but anonymous, or with a wrong password: refused.
    let anonymous = Client::new().with("NANOPOD_REGISTRY_CA", ca);
    one_line_error(
        &anonymous.run(&["push", guest(KITCHEN), &tag]),
        "refused access",
    );
    let wrong = Client::new()
        .with("NANOPOD_REGISTRY_CA", ca)
        .with("NANOPOD_REGISTRY_USERNAME", "ci")
        .with("NANOPOD_REGISTRY_PASSWORD", "guess");
    let o = wrong.run(&["-v", "push", guest(KITCHEN), &tag]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("refused access"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("guess"),
        "the password was printed: {}",
        stderr(&o)
    );

    let user = Client::new()
        .with("NANOPOD_REGISTRY_CA", ca)
        .with("NANOPOD_REGISTRY_USERNAME", "ci")
        .with("NANOPOD_REGISTRY_PASSWORD", password);
    let o = user.run(&["-vv", "push", guest(KITCHEN), &tag]);
    assert_exit(&o, 0);
    assert!(!stderr(&o).contains(password), "the password was logged");

    // `docker login`'s config file works too.
    let docker = Client::new().with("NANOPOD_REGISTRY_CA", ca);
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("ci:{password}"));
    std::fs::write(
        docker.home.path().join("docker/config.json"),
        format!(
            "{{\"auths\":{{\"{}\":{{\"auth\":\"{auth}\"}}}}}}",
            registry.addr()
        ),
    )
    .unwrap();
    let o = docker.run(&["run", &tag, "--invoke", "add", "20", "22"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "42\n");
}

/// `nanopod up --lock` pins what each `oci://` component resolved to; a
/// tag moved later does not move the pod while the lock names it.
#[test]
fn a_locked_pod_keeps_running_the_digest_it_ran() {
    let (_registry, client, tag, first) = published("app:1");
    let pod = client.home.path().join("pod.toml");
    std::fs::write(
        &pod,
        format!("entry = \"app\"\n[components.app]\nfile = \"{tag}\"\n"),
    )
    .unwrap();
    let pod = pod.to_str().unwrap();
    let o = client.run(&["up", "--lock", pod, "--invoke", "add", "1", "2"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "3\n");
    let lock = std::fs::read_to_string(client.home.path().join("pod.lock")).unwrap();
    assert!(lock.contains(&format!("pinned = \"{first}\"")), "{lock}");

    // The tag moves to another component, and this machine learns of it.
    client.push(guest(HELLO_P1), &tag);
    assert_exit(&client.run(&["pull", &tag]), 0);
    let o = client.run(&["up", pod, "--invoke", "add", "1", "2"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "3\n", "the lock keeps the pod on {first}");

    // Without the lock the pod follows the tag (now a core module).
    std::fs::remove_file(client.home.path().join("pod.lock")).unwrap();
    let o = client.run(&["up", pod, "--invoke", "add", "1", "2"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("core module"), "{}", stderr(&o));

    // A malformed lock is an error, not a silent unpin.
    std::fs::write(client.home.path().join("pod.lock"), "components = 7\n").unwrap();
    let o = client.run(&["up", pod, "--invoke", "add", "1", "2"]);
    one_line_error(&o, "pod.lock");
}
