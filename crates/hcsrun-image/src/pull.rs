//! Pulling an image from a registry (API v2) through `oci-client`: bearer
//! token auth, TLS with rustls, plain HTTP only for registries named
//! insecure; manifest lists resolved to a platform; every manifest, config
//! and layer checked against its digest before it is used; layers already in
//! the store skipped. Layers stream from the network into the unpacker on
//! blocking threads (never the runtime's), a few at a time.

use std::{io::Read, sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
pub use oci_client::secrets::RegistryAuth;
use oci_client::{
    client::{ClientConfig, ClientProtocol},
    Client,
};

use crate::{
    digest::{chain_ids, Digest},
    error::{Error, ErrorKind, Result},
    image::{Descriptor, ImageConfig, ManifestDoc, Platform, MANIFEST_MEDIA_TYPES},
    layers::LayerOutcome,
    store::{Image, Layer, Store},
    unpack::unpack_blob,
    Limits, Reference,
};

/// Called with each step of a pull, from the runtime's threads and the
/// unpackers'; keep it quick.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// A step of a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The manifest was found: the image's id and its layer blobs.
    Resolved {
        /// The image id (config digest).
        image: Digest,
        /// The layer blobs, bottom first, with their sizes.
        layers: Vec<(Digest, u64)>,
    },
    /// A layer is in the store already; it is not downloaded.
    LayerExists {
        /// The layer blob's digest.
        layer: Digest,
    },
    /// Bytes of a layer downloaded so far.
    LayerDownloading {
        /// The layer blob's digest.
        layer: Digest,
        /// Bytes received so far.
        downloaded: u64,
        /// The blob's size.
        total: u64,
    },
    /// A layer was downloaded, verified and unpacked.
    LayerDone {
        /// The layer blob's digest.
        layer: Digest,
        /// Bytes of file content.
        size: u64,
    },
}

/// How to pull.
#[derive(Clone)]
pub struct PullOptions {
    /// The platform to pick from a manifest list; default: this host's.
    pub platform: Platform,
    /// Registries (`host[:port]`) reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Credentials; anonymous by default (bearer tokens are fetched either way).
    pub auth: RegistryAuth,
    /// Told of each step.
    pub progress: Option<ProgressFn>,
    /// Bounds on each layer.
    pub limits: Limits,
    /// Layers downloaded at once.
    pub max_concurrent_layers: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: Platform::host(),
            insecure_registries: Vec::new(),
            auth: RegistryAuth::Anonymous,
            progress: None,
            limits: Limits::default(),
            max_concurrent_layers: 3,
        }
    }
}

impl std::fmt::Debug for PullOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullOptions")
            .field("platform", &self.platform)
            .field("insecure_registries", &self.insecure_registries)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

struct Puller<'a> {
    store: &'a Store,
    client: Client,
    reference: oci_client::Reference,
    options: &'a PullOptions,
}

impl Store {
    /// Pulls `reference` into the store and tags it (when it has a tag).
    /// Must run inside a tokio runtime; blocking work goes to its blocking
    /// pool.
    pub async fn pull(&self, reference: &Reference, options: &PullOptions) -> Result<Image> {
        let fail = |kind| Error::new("pulling", reference, kind);
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(options.insecure_registries.clone()),
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(30)),
            read_timeout: Some(Duration::from_secs(120)),
            ..ClientConfig::default()
        };
        let (domain, path) = (reference.domain().to_owned(), reference.path().to_owned());
        let oref = match (reference.digest(), reference.tag()) {
            (Some(d), _) => oci_client::Reference::with_digest(domain, path, d.to_string()),
            (None, tag) => {
                oci_client::Reference::with_tag(domain, path, tag.unwrap_or("latest").to_owned())
            }
        };
        let puller = Puller {
            store: self,
            client: Client::new(config),
            reference: oref,
            options,
        };
        let (image, tags) = puller.run(reference).await.map_err(fail)?;
        let mut tries = 0;
        loop {
            let commit = {
                let (store, image, tags) = (self.clone(), image.clone(), tags.clone());
                blocking(move || store.commit_image(&image, &tags)).await
            };
            match commit {
                Err(ErrorKind::NotFound(_)) if tries < 3 => {
                    // A concurrent removal took a layer: fetch it again.
                    tries += 1;
                    puller.run(reference).await.map_err(fail)?;
                }
                other => break other.map_err(fail)?,
            }
        }
        self.get(&image.id.to_string())
    }
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ErrorKind> + Send + 'static,
) -> Result<T, ErrorKind> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ErrorKind::io("a blocking task", std::io::Error::other(e)))?
}

fn registry(e: oci_client::errors::OciDistributionError) -> ErrorKind {
    ErrorKind::Registry(Box::new(e))
}

impl Puller<'_> {
    fn progress(&self, p: Progress) {
        if let Some(f) = &self.options.progress {
            f(&p);
        }
    }

    /// Fetches a manifest and checks it against `expected` (always when
    /// pulling by digest or through a list).
    async fn manifest(
        &self,
        reference: &oci_client::Reference,
        expected: Option<&Digest>,
    ) -> Result<(Bytes, Digest), ErrorKind> {
        let (bytes, _) = self
            .client
            .pull_manifest_raw(reference, &self.options.auth, MANIFEST_MEDIA_TYPES)
            .await
            .map_err(registry)?;
        if bytes.len() as u64 > self.options.limits.max_document_bytes {
            return Err(ErrorKind::Limit {
                what: "a manifest's size in bytes".into(),
                field: "max_document_bytes",
                max: self.options.limits.max_document_bytes,
            });
        }
        let actual = Digest::of(&bytes);
        if let Some(expected) = expected {
            if &actual != expected {
                return Err(ErrorKind::DigestMismatch {
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok((bytes, actual))
    }

    async fn run(&self, reference: &Reference) -> Result<(Image, Vec<Reference>), ErrorKind> {
        let (top, top_digest) = self.manifest(&self.reference, reference.digest()).await?;
        let store = self.store;
        let (manifest, manifest_digest, config_desc, layer_descs) = match ManifestDoc::parse(&top)?
        {
            ManifestDoc::Image { config, layers } => {
                (top.clone(), top_digest.clone(), config, layers)
            }
            ManifestDoc::Index(entries) => {
                let entry = ManifestDoc::select(&entries, &self.options.platform)?;
                let by_digest = self.reference.clone_with_digest(entry.digest.to_string());
                let (bytes, digest) = self.manifest(&by_digest, Some(&entry.digest)).await?;
                match ManifestDoc::parse(&bytes)? {
                    ManifestDoc::Image { config, layers } => (bytes, digest, config, layers),
                    ManifestDoc::Index(_) => {
                        return Err(ErrorKind::Invalid("an index inside an index".into()))
                    }
                }
            }
        };
        let config_bytes = self.config(&config_desc).await?;
        let config = ImageConfig::parse(&config_bytes)?;
        let diff_ids = config.rootfs.diff_ids.clone();
        if diff_ids.len() != layer_descs.len() {
            return Err(ErrorKind::Invalid(format!(
                "the manifest has {} layers and the config {} diff ids",
                layer_descs.len(),
                diff_ids.len()
            )));
        }
        let chains = chain_ids(&diff_ids);
        self.progress(Progress::Resolved {
            image: config_desc.digest.clone(),
            layers: layer_descs
                .iter()
                .map(|d| (d.digest.clone(), d.size))
                .collect(),
        });
        {
            let (s, list, one, cfg) = (
                store.clone(),
                top.clone(),
                manifest.clone(),
                config_bytes.clone(),
            );
            let (ld, md, cd) = (
                top_digest.clone(),
                manifest_digest.clone(),
                config_desc.digest.clone(),
            );
            blocking(move || {
                s.put_blob(&ld, &list)?;
                s.put_blob(&md, &one)?;
                s.put_blob(&cd, &cfg)
            })
            .await?;
        }
        let jobs = layer_descs
            .iter()
            .zip(&diff_ids)
            .zip(&chains)
            .map(|((d, diff), chain)| self.layer(d, diff, chain));
        let sizes: Vec<u64> = futures_util::stream::iter(jobs)
            .buffered(self.options.max_concurrent_layers.max(1))
            .try_collect()
            .await?;
        let layers = chains
            .iter()
            .zip(&diff_ids)
            .zip(&sizes)
            .map(|((chain_id, diff_id), size)| Layer {
                chain_id: chain_id.clone(),
                diff_id: diff_id.clone(),
                size: *size,
            })
            .collect();
        let mut tags = Vec::new();
        if let Some(tag) = reference.tag() {
            tags.push(
                Reference::parse(&format!("{}:{tag}", reference.name()))
                    .map_err(|e| ErrorKind::Invalid(e.to_string()))?,
            );
        }
        let image = Image {
            id: config_desc.digest.clone(),
            manifest_digest: Some(manifest_digest),
            repo_digests: vec![reference.with_digest(top_digest).to_string()],
            layers,
            config,
            size: sizes.iter().sum(),
            repo_tags: Vec::new(),
        };
        Ok((image, tags))
    }

    /// The config blob, from the store if it is there.
    async fn config(&self, desc: &Descriptor) -> Result<Vec<u8>, ErrorKind> {
        if let Ok(bytes) = self.store.blob(&desc.digest) {
            if Digest::of(&bytes) == desc.digest {
                return Ok(bytes);
            }
        }
        if desc.size > self.options.limits.max_document_bytes {
            return Err(ErrorKind::Limit {
                what: format!("the image config's size ({} bytes)", desc.size),
                field: "max_document_bytes",
                max: self.options.limits.max_document_bytes,
            });
        }
        let mut bytes = Vec::with_capacity(desc.size as usize);
        self.client
            .pull_blob(
                &self.reference,
                desc.digest.to_string().as_str(),
                &mut bytes,
            )
            .await
            .map_err(registry)?;
        let actual = Digest::of(&bytes);
        if actual != desc.digest {
            return Err(ErrorKind::DigestMismatch {
                expected: desc.digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Makes one layer present; returns its unpacked size.
    async fn layer(
        &self,
        desc: &Descriptor,
        diff_id: &Digest,
        chain_id: &Digest,
    ) -> Result<u64, ErrorKind> {
        let in_layer = |kind: ErrorKind| ErrorKind::InLayer {
            layer: desc.digest.clone(),
            kind: Box::new(kind),
        };
        let lock = {
            let (store, chain) = (self.store.clone(), chain_id.clone());
            blocking(move || store.lock_layer(&chain).map_err(|e| e.kind)).await?
        };
        if lock.is_present() {
            self.progress(Progress::LayerExists {
                layer: desc.digest.clone(),
            });
            return Ok(lock.existing_size());
        }
        let mut stream = self
            .client
            .pull_blob_stream(&self.reference, desc.digest.to_string().as_str())
            .await
            .map_err(registry)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
        let mut stream_error: Option<std::io::Error> = None;
        let unpacker = {
            let (limits, diff, expected) = (
                self.options.limits.clone(),
                diff_id.clone(),
                (desc.digest.clone(), desc.size),
            );
            let progress = self.options.progress.clone();
            tokio::task::spawn_blocking(move || {
                let outcome = lock.ensure(&diff, |dir| {
                    let unpacked = unpack_blob(
                        ChannelReader {
                            rx,
                            current: Bytes::new(),
                        },
                        dir,
                        &limits,
                    )?;
                    if unpacked.blob.0 != expected.0 {
                        return Err(ErrorKind::DigestMismatch {
                            expected: expected.0.clone(),
                            actual: unpacked.blob.0,
                        });
                    }
                    if unpacked.blob.1 != expected.1 {
                        return Err(ErrorKind::SizeMismatch {
                            expected: expected.1,
                            actual: unpacked.blob.1,
                        });
                    }
                    Ok(unpacked)
                })?;
                if let (Some(p), LayerOutcome::Unpacked { size, .. }) = (&progress, &outcome) {
                    p(&Progress::LayerDone {
                        layer: expected.0.clone(),
                        size: *size,
                    });
                }
                Ok::<_, ErrorKind>(outcome.size())
            })
        };
        let mut downloaded = 0u64;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => {
                    downloaded += bytes.len() as u64;
                    self.progress(Progress::LayerDownloading {
                        layer: desc.digest.clone(),
                        downloaded,
                        total: desc.size,
                    });
                    if tx.send(bytes).await.is_err() {
                        break; // The unpacker stopped; its error says why.
                    }
                }
                Err(e) => {
                    // The unpacker sees the end of its input, and its own
                    // digest check says what is wrong; this is the cause.
                    stream_error = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        let result = unpacker
            .await
            .map_err(|e| ErrorKind::io("the unpacker", std::io::Error::other(e)))?;
        match (result, stream_error) {
            (Ok(size), _) => Ok(size),
            (Err(e @ ErrorKind::DigestMismatch { .. }), _) => Err(in_layer(e)),
            (Err(_), Some(cause)) => Err(in_layer(stream_failure(cause))),
            (Err(e), None) => Err(in_layer(e)),
        }
    }
}

/// What a failed blob stream means: oci-client's own digest check names
/// both digests.
fn stream_failure(cause: std::io::Error) -> ErrorKind {
    use oci_client::errors::DigestError;
    if let Some(DigestError::VerificationError { expected, actual }) = cause
        .get_ref()
        .and_then(|e| e.downcast_ref::<DigestError>())
    {
        if let (Ok(expected), Ok(actual)) = (Digest::parse(expected), Digest::parse(actual)) {
            return ErrorKind::DigestMismatch { expected, actual };
        }
    }
    ErrorKind::io("downloading", cause)
}

/// The blocking end of the download: reads the chunks the async side sends.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(bytes) => self.current = bytes,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
