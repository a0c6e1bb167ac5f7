//! A private containerd started for a test (or a benchmark), and OCI image
//! archives built in memory for `ctr image import`: nothing is pulled.
#![allow(dead_code)] // each test binary uses its own part

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// containerd's runtime name for the shim under test.
pub(crate) const RUNTIME: &str = "io.containerd.nanopod.v1";

/// What containerd must be told to accept images of Wasm artifact layers
/// (media type `application/wasm`): 1.6 unpacks every layer, and this
/// stream processor turns such a layer into an empty tar (the image's
/// `diff_ids` name [`empty_tar_digest`]); runwasi reads the layer itself
/// from the content store. docs/kubernetes.md shows the same table.
const WASM_LAYER_PROCESSOR: &str = "#!/bin/sh\ncat > /dev/null\nhead -c 1024 /dev/zero\n";

/// A containerd of the test's own: root, state, socket and namespace in a
/// temporary directory, the shim under test on its `PATH`.
pub(crate) struct Containerd {
    dir: tempfile::TempDir,
    child: Child,
    socket: PathBuf,
}

impl Containerd {
    /// Starts containerd and waits for its socket.
    pub(crate) fn start() -> Containerd {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let socket = root.join("containerd.sock");
        let processor = root.join("wasm-layer.sh");
        std::fs::write(&processor, WASM_LAYER_PROCESSOR).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&processor, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = root.join("config.toml");
        std::fs::write(
            &config,
            format!(
                r#"version = 2
root = "{r}/root"
state = "{r}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{s}"
[ttrpc]
  address = "{s}.ttrpc"
[stream_processors]
  [stream_processors."io.nanopod.wasm-layer"]
    accepts = ["application/wasm"]
    returns = "application/vnd.oci.image.layer.v1.tar"
    path = "{p}"
"#,
                r = root.display(),
                s = socket.display(),
                p = processor.display()
            ),
        )
        .unwrap();
        let shim_dir = Path::new(env!("CARGO_BIN_EXE_containerd-shim-nanopod-v1"))
            .parent()
            .unwrap()
            .to_path_buf();
        let path = format!(
            "{}:{}",
            shim_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let log = std::fs::File::create(root.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .env("PATH", path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd is installed (scripts/test.sh installs it)");
        let containerd = Containerd { dir, child, socket };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !containerd
            .ctr(&["version"])
            .output()
            .unwrap()
            .status
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "containerd did not start:\n{}",
                containerd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        containerd
    }

    /// `ctr` against this containerd, in the test namespace.
    pub(crate) fn ctr(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(&self.socket)
            .args(["--namespace", "nanopod-test"])
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Imports an image archive.
    pub(crate) fn import(&self, archive: &Path) {
        let out = self
            .ctr(&["image", "import", "--all-platforms"])
            .arg(archive)
            .output()
            .unwrap();
        assert!(out.status.success(), "import failed: {}", text(&out.stderr));
    }

    /// Builds a [`filesystem_image`] named `name` and imports it.
    pub(crate) fn import_files(&self, name: &str, files: &[(&str, &[u8])], entrypoint: &[&str]) {
        let archive = self.scratch().join("image.tar");
        filesystem_image(&archive, name, files, entrypoint);
        self.import(&archive);
    }

    /// `ctr run --rm --runtime io.containerd.nanopod.v1 FLAGS… IMAGE ID ARGS…`.
    pub(crate) fn run(&self, flags: &[&str], image: &str, id: &str, args: &[&str]) -> Output {
        self.run_command(flags, image, id, args).output().unwrap()
    }

    /// The command [`Containerd::run`] runs.
    pub(crate) fn run_command(
        &self,
        flags: &[&str],
        image: &str,
        id: &str,
        args: &[&str],
    ) -> Command {
        let mut c = self.ctr(&["run", "--rm", "--runtime", RUNTIME]);
        c.args(flags).arg(image).arg(id).args(args);
        c
    }

    /// containerd's own log, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// A directory for the test's own files.
    pub(crate) fn scratch(&self) -> PathBuf {
        let d = self.dir.path().join("scratch");
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}

impl Drop for Containerd {
    /// Stops containerd and any shim a failed test left running (shims
    /// outlive containerd; each names this containerd's socket).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("pkill")
            .arg("-KILL")
            .arg("-f")
            .arg(self.socket.as_os_str())
            .status();
    }
}

/// Lossy UTF-8, for assertions.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// The digest of the empty tar [`WASM_LAYER_PROCESSOR`] makes.
pub(crate) fn empty_tar_digest() -> String {
    digest(&[0u8; 1024])
}

/// An image whose one layer is a tar of `files` (path, contents), run with
/// `entrypoint`: what `docker build` makes of `FROM scratch` + `COPY`.
pub(crate) fn filesystem_image(
    to: &Path,
    name: &str,
    files: &[(&str, &[u8])],
    entrypoint: &[&str],
) {
    let mut layer = tar::Builder::new(Vec::new());
    for (path, contents) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(contents.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        layer.append_data(&mut header, path, *contents).unwrap();
    }
    let layer = layer.into_inner().unwrap();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": { "Entrypoint": entrypoint },
        "rootfs": { "type": "layers", "diff_ids": [digest(&layer)] },
    });
    archive(
        to,
        name,
        &config,
        "application/vnd.oci.image.layer.v1.tar",
        &layer,
    );
}

/// An image whose one layer is the binary `wasm` itself (media type
/// `application/wasm`), platform `wasip2/wasm`, run with `entrypoint`.
pub(crate) fn wasm_layer_image(to: &Path, name: &str, wasm: &[u8], entrypoint: &[&str]) {
    let config = serde_json::json!({
        "architecture": "wasm", "os": "wasip2",
        "config": { "Entrypoint": entrypoint },
        "rootfs": { "type": "layers", "diff_ids": [empty_tar_digest()] },
    });
    archive(to, name, &config, "application/wasm", wasm);
}

/// Writes an OCI image layout archive of one manifest.
fn archive(to: &Path, name: &str, config: &serde_json::Value, layer_type: &str, layer: &[u8]) {
    let config = serde_json::to_vec(config).unwrap();
    let descriptor = |media_type: &str, bytes: &[u8]| serde_json::json!({ "mediaType": media_type, "digest": digest(bytes), "size": bytes.len() });
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor(layer_type, layer)],
    }))
    .unwrap();
    let mut entry = descriptor("application/vnd.oci.image.manifest.v1+json", &manifest);
    entry["annotations"] = serde_json::json!({ "io.containerd.image.name": name });
    let index =
        serde_json::to_vec(&serde_json::json!({ "schemaVersion": 2, "manifests": [entry] }))
            .unwrap();
    let mut out = tar::Builder::new(std::fs::File::create(to).unwrap());
    let mut add = |path: String, bytes: &[u8]| {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        out.append_data(&mut header, path, bytes).unwrap();
    };
    add("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#);
    add("index.json".into(), &index);
    for blob in [&config[..], &manifest[..], layer] {
        add(format!("blobs/sha256/{}", &digest(blob)[7..]), blob);
    }
    out.finish().unwrap();
}
