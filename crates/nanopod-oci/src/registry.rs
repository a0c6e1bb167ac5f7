//! Talking to a registry: the client's settings and credentials from the
//! environment, and the pull and push of one Wasm artifact.

use crate::OciError;
use crate::reference::OciRef;
use crate::store::{BlobCache, IndexEntry};
use futures::StreamExt;
use oci_client::Client;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_wasm::{WASM_LAYER_MEDIA_TYPE, WASM_MANIFEST_CONFIG_MEDIA_TYPE, WasmClient, WasmConfig};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The largest layer nanopod pulls: what it would load from a file.
pub const MAX_LAYER: u64 = nanopod_host::files::MAX_BINARY;

/// How long a connection may take to open, and a read to make progress.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A component pulled into the cache.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The layer's file in the cache.
    pub path: PathBuf,
    /// The reference pinned to the manifest digest it resolved to.
    pub pinned: OciRef,
    /// Whether the cache answered without the network.
    pub from_cache: bool,
}

/// A registry client configured from the environment (see the crate
/// docs for the variables), with the local cache.
pub struct Registry {
    /// Built on first use: the TLS setup (OpenSSL loading the system's
    /// roots) costs ~100 ms, which a run answered by the cache skips.
    client: OnceLock<Client>,
    config: Mutex<Option<ClientConfig>>,
    cache: BlobCache,
    offline: bool,
}

impl Registry {
    /// The client the environment describes.
    pub fn from_env() -> Result<Registry, OciError> {
        let mut config = ClientConfig {
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            ..ClientConfig::default()
        };
        if let Some(list) = std::env::var("NANOPOD_INSECURE_REGISTRIES")
            .ok()
            .filter(|l| !l.is_empty())
        {
            config.protocol = ClientProtocol::HttpsExcept(
                list.split(',').map(|h| h.trim().to_string()).collect(),
            );
        }
        if let Some(ca) = std::env::var_os("NANOPOD_REGISTRY_CA").filter(|c| !c.is_empty()) {
            let path = PathBuf::from(ca);
            let data = nanopod_host::files::read_regular(&path, nanopod_host::files::MAX_TEXT)
                .map_err(|e| {
                    OciError::other(
                        format!("reading NANOPOD_REGISTRY_CA ({})", path.display()),
                        e,
                    )
                })?;
            config.extra_root_certificates.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        Ok(Registry {
            client: OnceLock::new(),
            config: Mutex::new(Some(config)),
            cache: BlobCache::from_env()?,
            offline: crate::offline(),
        })
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| {
            let config = self
                .config
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or_default();
            // Once per process; an error means a provider is already set.
            let _ = rustls::crypto::ring::default_provider().install_default();
            Client::new(config)
        })
    }

    /// `reference`'s component: from the cache when it was pulled before
    /// (no network), else from its registry.
    pub async fn fetch(&self, reference: &OciRef) -> Result<Pulled, OciError> {
        if let Some(entry) = self.cache.lookup(reference) {
            tracing::debug!("{reference}: {} from the cache", entry.manifest);
            return Ok(self.cached(reference, entry));
        }
        self.pull(reference).await
    }

    /// `reference`'s component from its registry, refreshing what the
    /// cache holds for a tag; offline, the cache's copy.
    pub async fn pull(&self, reference: &OciRef) -> Result<Pulled, OciError> {
        if self.offline {
            return match self.cache.lookup(reference) {
                Some(entry) => Ok(self.cached(reference, entry)),
                None => Err(OciError::NotCached {
                    reference: reference.to_string(),
                }),
            };
        }
        let auth = credentials(reference.registry());
        let image = reference.client_reference();
        let (manifest, digest) = self
            .client()
            .pull_image_manifest(image, &auth)
            .await
            .map_err(|e| classify(reference, e))?;
        if let Some(pinned) = reference.digest()
            && pinned != digest
        {
            return Err(OciError::DigestMismatch {
                reference: reference.to_string(),
                what: "the manifest",
                expected: pinned.to_string(),
                actual: digest,
            });
        }
        let not_wasm = |reason: String| OciError::NotWasm {
            reference: reference.to_string(),
            reason,
        };
        if manifest.config.media_type != WASM_MANIFEST_CONFIG_MEDIA_TYPE {
            return Err(not_wasm(format!(
                "its config is `{}`, not `{WASM_MANIFEST_CONFIG_MEDIA_TYPE}`",
                manifest.config.media_type
            )));
        }
        let [layer] = manifest.layers.as_slice() else {
            return Err(not_wasm(format!(
                "it has {} layers, not one",
                manifest.layers.len()
            )));
        };
        if layer.media_type != WASM_LAYER_MEDIA_TYPE {
            return Err(not_wasm(format!(
                "its layer is `{}`, not `{WASM_LAYER_MEDIA_TYPE}`",
                layer.media_type
            )));
        }
        let size = u64::try_from(layer.size)
            .map_err(|_| not_wasm("its layer has a negative size".into()))?;
        if size > MAX_LAYER {
            return Err(OciError::TooLarge {
                reference: reference.to_string(),
                size,
                max: MAX_LAYER,
            });
        }
        if !self.cache.has_blob(&layer.digest, size) {
            self.download(reference, layer, size).await?;
        }
        let entry = IndexEntry {
            reference: reference.to_string(),
            manifest: digest.clone(),
            layer: layer.digest.clone(),
            size,
        };
        self.cache.record(reference, &entry)?;
        let pinned = reference.pinned(&digest);
        self.cache.record(
            &pinned,
            &IndexEntry {
                reference: pinned.to_string(),
                ..entry.clone()
            },
        )?;
        tracing::info!("pulled {reference} ({digest}, {size} bytes)");
        Ok(Pulled {
            path: self.cache.blob_path(&entry.layer),
            pinned,
            from_cache: false,
        })
    }

    /// Pushes `bytes` (a component or core module, checked by the caller)
    /// as `reference` in the CNCF Wasm layout; returns the reference
    /// pinned to its manifest.
    pub async fn push(&self, bytes: Vec<u8>, reference: &OciRef) -> Result<OciRef, OciError> {
        let describe = |e: anyhow::Error| {
            OciError::other(format!("describing {reference} for its OCI config"), e)
        };
        let (config, layer) = if wasmparser::Parser::is_component(&bytes) {
            WasmConfig::from_raw_component(bytes, None).map_err(describe)?
        } else {
            WasmConfig::from_raw_module(bytes, None).map_err(describe)?
        };
        let auth = credentials(reference.registry());
        let image = reference.client_reference();
        WasmClient::new(self.client().clone())
            .push(image, &auth, layer, config, None)
            .await
            .map_err(|e| match e.downcast::<OciDistributionError>() {
                Ok(e) => classify(reference, e),
                Err(e) => OciError::other(format!("pushing {reference}"), e),
            })?;
        let digest = self
            .client()
            .fetch_manifest_digest(image, &auth)
            .await
            .map_err(|e| classify(reference, e))?;
        Ok(reference.pinned(&digest))
    }

    fn cached(&self, reference: &OciRef, entry: IndexEntry) -> Pulled {
        Pulled {
            path: self.cache.blob_path(&entry.layer),
            pinned: reference.pinned(&entry.manifest),
            from_cache: true,
        }
    }

    /// Streams the layer into a temporary file beside the cache's blobs,
    /// checking its size as it comes and its digest at the end; only a
    /// verified blob gets its name.
    async fn download(
        &self,
        reference: &OciRef,
        layer: &oci_client::manifest::OciDescriptor,
        size: u64,
    ) -> Result<(), OciError> {
        let mut stream = self
            .client()
            .pull_blob_stream(reference.client_reference(), layer)
            .await
            .map_err(|e| classify(reference, e))?;
        let mut file = self.cache.incoming()?;
        let mut hasher = Sha256::new();
        let mut received: u64 = 0;
        let mismatch = |hasher: Sha256| {
            let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
            (actual != layer.digest).then(|| OciError::DigestMismatch {
                reference: reference.to_string(),
                what: "the layer",
                expected: layer.digest.clone(),
                actual,
            })
        };
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                // The client checks the digest itself once the declared
                // bytes are in: name the mismatch in our words.
                Err(_) if received == size && layer.digest.starts_with("sha256:") => {
                    return Err(mismatch(hasher.clone()).unwrap_or_else(|| {
                        OciError::other(
                            format!("reading the layer of {reference}"),
                            anyhow::anyhow!("the stream failed after its last byte"),
                        )
                    }));
                }
                Err(e) => {
                    return Err(OciError::other(
                        format!(
                            "{reference}: the layer stopped after {received} of its {size} bytes"
                        ),
                        e,
                    ));
                }
            };
            received += chunk.len() as u64;
            if received > size {
                return Err(OciError::TooLarge {
                    reference: reference.to_string(),
                    size: received,
                    max: size,
                });
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .map_err(|e| OciError::other(format!("writing the layer of {reference}"), e))?;
        }
        if received < size {
            return Err(OciError::Truncated {
                reference: reference.to_string(),
                received,
                size,
            });
        }
        if let Some(error) = mismatch(hasher) {
            return Err(error);
        }
        self.cache.commit(file, &layer.digest)?;
        Ok(())
    }
}

/// The credentials for `registry`: `NANOPOD_REGISTRY_USERNAME` and
/// `NANOPOD_REGISTRY_PASSWORD` when both are set, else the `auths` entry of
/// the docker config file (`$DOCKER_CONFIG/config.json` or
/// `~/.docker/config.json`, as `docker login` writes it), else anonymous.
fn credentials(registry: &str) -> RegistryAuth {
    if let (Ok(user), Ok(password)) = (
        std::env::var("NANOPOD_REGISTRY_USERNAME"),
        std::env::var("NANOPOD_REGISTRY_PASSWORD"),
    ) {
        return RegistryAuth::Basic(user, password);
    }
    docker_config_auth(registry).unwrap_or(RegistryAuth::Anonymous)
}

fn docker_config_auth(registry: &str) -> Option<RegistryAuth> {
    use base64::Engine as _;
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))?;
    let text =
        nanopod_host::files::read_regular(&dir.join("config.json"), nanopod_host::files::MAX_TEXT)
            .ok()?;
    let config: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let auths = config.get("auths")?.as_object()?;
    let entry = [
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ]
    .iter()
    .find_map(|key| auths.get(key))?;
    if let (Some(user), Some(password)) = (
        entry.get("username").and_then(|v| v.as_str()),
        entry.get("password").and_then(|v| v.as_str()),
    ) {
        return Some(RegistryAuth::Basic(user.into(), password.into()));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(entry.get("auth")?.as_str()?)
        .ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some(RegistryAuth::Basic(user.into(), password.into()))
}

/// Names what the client library reported in the user's terms.
fn classify(reference: &OciRef, error: OciDistributionError) -> OciError {
    let registry = reference.registry().to_string();
    let name = reference.to_string();
    match error {
        OciDistributionError::RequestError(e)
            if e.is_connect() || e.is_timeout() || e.is_request() =>
        {
            OciError::Unreachable {
                registry,
                reference: name,
                reason: chain_text(&e),
            }
        }
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => OciError::Unauthorized {
            registry,
            reference: name,
        },
        OciDistributionError::ImageManifestNotFoundError(_) => {
            OciError::NotFound { reference: name }
        }
        OciDistributionError::ServerError { code: 404, .. } => {
            OciError::NotFound { reference: name }
        }
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        } => OciError::Unauthorized {
            registry,
            reference: name,
        },
        OciDistributionError::RegistryError { ref envelope, .. }
            if says(
                envelope,
                &[OciErrorCode::ManifestUnknown, OciErrorCode::NameUnknown],
            ) =>
        {
            OciError::NotFound { reference: name }
        }
        OciDistributionError::RegistryError { ref envelope, .. }
            if says(
                envelope,
                &[OciErrorCode::Unauthorized, OciErrorCode::Denied],
            ) =>
        {
            OciError::Unauthorized {
                registry,
                reference: name,
            }
        }
        other => OciError::other(
            format!("the registry {registry} answered for {name}"),
            other,
        ),
    }
}

/// Whether the registry's error envelope carries one of `codes`.
fn says(envelope: &oci_client::errors::OciEnvelope, codes: &[OciErrorCode]) -> bool {
    envelope.errors.iter().any(|e| codes.contains(&e.code))
}

/// An error and its sources on one line (reqwest hides the cause, such as
/// "Connection refused", in its source chain).
fn chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
