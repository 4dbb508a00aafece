//! Loading images from archives (`hcsrun load`): `docker save` tarballs
//! (`manifest.json` with `Config`, `RepoTags`, `Layers`) and OCI image-layout
//! tarballs (`oci-layout`, `index.json`, `blobs/sha256/…`). The archive may
//! be gzip- or zstd-compressed, or come from a pipe; either is first copied
//! into the store's `tmp/`. Members are read in place by offset, so a layer
//! is read once, straight into its unpacker. Every blob is checked: configs
//! by the image id, OCI blobs by their descriptors, layers by the config's
//! diff ids.

use std::{
    collections::HashMap,
    fs::File,
    io::{self, BufRead, BufReader, Read, Seek},
    os::unix::fs::FileExt,
    path::Path,
};

use serde::Deserialize;

use crate::{
    digest::{chain_ids, Digest},
    error::{io_err, Error, ErrorKind, Result},
    image::{Descriptor, ImageConfig, ManifestDoc, Platform},
    store::{Image, Layer, Store},
    unpack::unpack_blob,
    Limits, Reference,
};

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The platform picked from an index with several.
    pub platform: Platform,
    /// Bounds on each layer.
    pub limits: Limits,
    /// For OCI archives whose images are named only by a tag
    /// (`org.opencontainers.image.ref.name: latest`): the repository.
    pub repository: Option<Reference>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            platform: Platform::host(),
            limits: Limits::default(),
            repository: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct Member {
    offset: u64,
    size: u64,
}

/// A tar archive indexed by member name.
struct Archive {
    file: File,
    members: HashMap<String, Member>,
    links: HashMap<String, String>,
}

impl Store {
    /// Loads every image of the archive at `path`; blocking.
    pub fn load(&self, path: &Path, options: &LoadOptions) -> Result<Vec<Image>> {
        let file = File::open(path)
            .map_err(|e| Error::new("loading", path.display(), ErrorKind::io("opening", e)))?;
        self.load_from(file, &path.display().to_string(), options)
    }

    /// Loads every image of an archive read from `input` (a pipe, say);
    /// blocking. `name` names the input in errors.
    pub fn load_reader(
        &self,
        mut input: impl Read,
        name: &str,
        options: &LoadOptions,
    ) -> Result<Vec<Image>> {
        let fail = |kind| Error::new("loading", name, kind);
        let mut spool = tempfile::tempfile_in(self.path("tmp"))
            .map_err(|e| fail(ErrorKind::io("spooling", e)))?;
        io::copy(&mut input, &mut spool).map_err(|e| fail(ErrorKind::io("spooling", e)))?;
        self.load_from(spool, name, options)
    }

    fn load_from(&self, mut file: File, name: &str, options: &LoadOptions) -> Result<Vec<Image>> {
        let fail = |kind| Error::new("loading", name, kind);
        file.rewind()
            .map_err(|e| fail(ErrorKind::io("seeking", e)))?;
        let head = {
            let mut r = BufReader::new(&file);
            r.fill_buf()
                .map_err(|e| fail(ErrorKind::io("reading", e)))?
                .get(..4)
                .map(<[u8]>::to_vec)
        };
        let compressed = matches!(
            head.as_deref(),
            Some([0x1f, 0x8b, ..]) | Some([0x28, 0xb5, 0x2f, 0xfd])
        );
        if compressed {
            file.rewind()
                .map_err(|e| fail(ErrorKind::io("seeking", e)))?;
            let mut plain = tempfile::tempfile_in(self.path("tmp"))
                .map_err(|e| fail(ErrorKind::io("decompressing", e)))?;
            let mut limited = decompress(BufReader::new(file))
                .map_err(|e| fail(ErrorKind::io("decompressing", e)))?;
            io::copy(&mut limited, &mut plain)
                .map_err(|e| fail(ErrorKind::io("decompressing", e)))?;
            file = plain;
        }
        file.rewind()
            .map_err(|e| fail(ErrorKind::io("seeking", e)))?;
        let archive = Archive::index(file).map_err(fail)?;
        let images = if archive.members.contains_key("manifest.json") {
            self.load_docker(&archive, options)
        } else if archive.members.contains_key("index.json") {
            self.load_oci(&archive, options)
        } else {
            Err(ErrorKind::Invalid(
                "neither a docker save archive (manifest.json) nor an OCI layout (index.json)"
                    .into(),
            ))
        };
        let images = images.map_err(fail)?;
        images.iter().map(|i| self.get(&i.id.to_string())).collect()
    }

    fn load_docker(
        &self,
        archive: &Archive,
        options: &LoadOptions,
    ) -> Result<Vec<Image>, ErrorKind> {
        let manifests: Vec<DockerManifest> =
            serde_json::from_slice(&archive.read_small("manifest.json", &options.limits)?)
                .map_err(|e| ErrorKind::Invalid(format!("manifest.json is malformed: {e}")))?;
        let mut out = Vec::new();
        for m in manifests {
            let config_bytes = archive.read_small(&m.config, &options.limits)?;
            let id = Digest::of(&config_bytes);
            let config = ImageConfig::parse(&config_bytes)?;
            let diff_ids = config.rootfs.diff_ids.clone();
            if diff_ids.len() != m.layers.len() {
                return Err(ErrorKind::Invalid(format!(
                    "image {id}: manifest.json lists {} layers, its config {} diff ids",
                    m.layers.len(),
                    diff_ids.len()
                )));
            }
            let mut layers = Vec::new();
            for ((member, diff_id), chain_id) in
                m.layers.iter().zip(&diff_ids).zip(chain_ids(&diff_ids))
            {
                let size =
                    self.load_layer(archive, member, diff_id, &chain_id, None, &options.limits)?;
                layers.push(Layer {
                    chain_id,
                    diff_id: diff_id.clone(),
                    size,
                });
            }
            self.put_blob(&id, &config_bytes)?;
            let mut tags = Vec::new();
            for t in m.repo_tags.unwrap_or_default() {
                tags.push(Reference::parse(&t).map_err(|e| ErrorKind::Invalid(e.to_string()))?);
            }
            out.push(self.record(id, None, layers, config, &tags)?);
        }
        Ok(out)
    }

    fn load_oci(&self, archive: &Archive, options: &LoadOptions) -> Result<Vec<Image>, ErrorKind> {
        let index = archive.read_small("index.json", &options.limits)?;
        let ManifestDoc::Index(entries) = ManifestDoc::parse(&index)? else {
            return Err(ErrorKind::Invalid("index.json is not an index".into()));
        };
        let mut out = Vec::new();
        for entry in &entries {
            let tags = names(entry, options)?;
            let mut desc = entry.clone();
            for _depth in 0..4 {
                let bytes = archive.read_blob(&desc, &options.limits)?;
                match ManifestDoc::parse(&bytes)? {
                    ManifestDoc::Index(inner) => {
                        desc = ManifestDoc::select(&inner, &options.platform)?.clone()
                    }
                    ManifestDoc::Image { config, layers } => {
                        out.push(self.load_oci_image(
                            archive, &desc, &bytes, &config, &layers, &tags, options,
                        )?);
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn load_oci_image(
        &self,
        archive: &Archive,
        manifest: &Descriptor,
        manifest_bytes: &[u8],
        config_desc: &Descriptor,
        layer_descs: &[Descriptor],
        tags: &[Reference],
        options: &LoadOptions,
    ) -> Result<Image, ErrorKind> {
        let config_bytes = archive.read_blob(config_desc, &options.limits)?;
        let config = ImageConfig::parse(&config_bytes)?;
        let diff_ids = config.rootfs.diff_ids.clone();
        if diff_ids.len() != layer_descs.len() {
            return Err(ErrorKind::Invalid(format!(
                "manifest {} has {} layers, its config {} diff ids",
                manifest.digest,
                layer_descs.len(),
                diff_ids.len()
            )));
        }
        let mut layers = Vec::new();
        for ((desc, diff_id), chain_id) in
            layer_descs.iter().zip(&diff_ids).zip(chain_ids(&diff_ids))
        {
            let member = format!("blobs/sha256/{}", desc.digest.hex());
            let size = self.load_layer(
                archive,
                &member,
                diff_id,
                &chain_id,
                Some(&desc.digest),
                &options.limits,
            )?;
            layers.push(Layer {
                chain_id,
                diff_id: diff_id.clone(),
                size,
            });
        }
        self.put_blob(&config_desc.digest, &config_bytes)?;
        self.put_blob(&manifest.digest, manifest_bytes)?;
        self.record(
            config_desc.digest.clone(),
            Some(manifest.digest.clone()),
            layers,
            config,
            tags,
        )
    }

    fn load_layer(
        &self,
        archive: &Archive,
        member: &str,
        diff_id: &Digest,
        chain_id: &Digest,
        blob: Option<&Digest>,
        limits: &Limits,
    ) -> Result<u64, ErrorKind> {
        let in_layer = |kind| ErrorKind::InLayer {
            layer: blob.unwrap_or(diff_id).clone(),
            kind: Box::new(kind),
        };
        let lock = self.lock_layer(chain_id).map_err(|e| e.kind)?;
        let reader = archive.open(member).map_err(in_layer)?;
        let outcome = lock
            .ensure(diff_id, |dir| {
                let unpacked = unpack_blob(reader, dir, limits)?;
                if let Some(expected) = blob {
                    if &unpacked.blob.0 != expected {
                        return Err(ErrorKind::DigestMismatch {
                            expected: expected.clone(),
                            actual: unpacked.blob.0,
                        });
                    }
                }
                Ok(unpacked)
            })
            .map_err(in_layer)?;
        Ok(outcome.size())
    }

    fn record(
        &self,
        id: Digest,
        manifest: Option<Digest>,
        layers: Vec<Layer>,
        config: ImageConfig,
        tags: &[Reference],
    ) -> Result<Image, ErrorKind> {
        let image = Image {
            id,
            manifest_digest: manifest,
            repo_digests: Vec::new(),
            size: layers.iter().map(|l| l.size).sum(),
            layers,
            config,
            repo_tags: Vec::new(),
        };
        self.commit_image(&image, tags)?;
        Ok(image)
    }
}

/// The names an OCI index entry gives its image.
fn names(entry: &Descriptor, options: &LoadOptions) -> Result<Vec<Reference>, ErrorKind> {
    let Some(ann) = &entry.annotations else {
        return Ok(Vec::new());
    };
    if let Some(full) = ann.get("io.containerd.image.name") {
        return Ok(vec![
            Reference::parse(full).map_err(|e| ErrorKind::Invalid(e.to_string()))?
        ]);
    }
    let Some(name) = ann.get("org.opencontainers.image.ref.name") else {
        return Ok(Vec::new());
    };
    if name.contains(['/', ':', '@']) {
        return Ok(vec![
            Reference::parse(name).map_err(|e| ErrorKind::Invalid(e.to_string()))?
        ]);
    }
    match &options.repository {
        Some(repo) => Ok(vec![repo
            .with_tag(name)
            .map_err(|e| ErrorKind::Invalid(e.to_string()))?]),
        None => Ok(Vec::new()),
    }
}

fn decompress<'a>(mut r: BufReader<File>) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match r.fill_buf()? {
        [0x1f, 0x8b, ..] => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        _ => Box::new(zstd::Decoder::with_buffer(r)?),
    })
}

/// Reads `size` bytes at `offset` of a shared file.
struct Section<'a> {
    file: &'a File,
    offset: u64,
    left: u64,
}

impl Read for Section<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.offset)?;
        self.offset += n as u64;
        self.left -= n as u64;
        Ok(n)
    }
}

/// A member name as written (`./x`, `x`) in one form.
fn clean(name: &str) -> String {
    name.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl Archive {
    fn index(mut file: File) -> Result<Archive, ErrorKind> {
        let mut members = HashMap::new();
        let mut links = HashMap::new();
        {
            let mut tar = tar::Archive::new(&mut file);
            let err = io_err("reading the archive");
            for entry in tar
                .entries_with_seek()
                .map_err(io_err("reading the archive"))?
            {
                let entry = entry.map_err(io_err("reading the archive"))?;
                let name = clean(&String::from_utf8_lossy(&entry.path_bytes()));
                match entry.header().entry_type() {
                    tar::EntryType::Regular | tar::EntryType::Continuous => {
                        let m = Member {
                            offset: entry.raw_file_position(),
                            size: entry.size(),
                        };
                        members.insert(name, m);
                    }
                    // Old `docker save` links identical layers to each other.
                    tar::EntryType::Symlink | tar::EntryType::Link => {
                        if let Some(target) = entry.link_name_bytes() {
                            links.insert(name, String::from_utf8_lossy(&target).into_owned());
                        }
                    }
                    _ => {}
                }
            }
            let _ = err;
        }
        Ok(Archive {
            file,
            members,
            links,
        })
    }

    /// The member `name`, following links between members (relative to the
    /// linking member's directory for symbolic links).
    fn member(&self, name: &str) -> Result<Member, ErrorKind> {
        let mut name = clean(name);
        for _ in 0..8 {
            if let Some(m) = self.members.get(&name) {
                return Ok(*m);
            }
            let Some(target) = self.links.get(&name) else {
                break;
            };
            let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
            let mut parts: Vec<&str> = if target.starts_with('/') {
                Vec::new()
            } else {
                dir.split('/').filter(|p| !p.is_empty()).collect()
            };
            for p in target.split('/') {
                match p {
                    "" | "." => {}
                    ".." => {
                        parts.pop();
                    }
                    p => parts.push(p),
                }
            }
            name = parts.join("/");
        }
        Err(ErrorKind::Invalid(format!(
            "the archive has no member {name:?}"
        )))
    }

    fn open(&self, name: &str) -> Result<Section<'_>, ErrorKind> {
        let m = self.member(name)?;
        Ok(Section {
            file: &self.file,
            offset: m.offset,
            left: m.size,
        })
    }

    fn read_small(&self, name: &str, limits: &Limits) -> Result<Vec<u8>, ErrorKind> {
        let m = self.member(name)?;
        if m.size > limits.max_document_bytes {
            return Err(ErrorKind::Limit {
                what: format!("archive member {name:?} ({} bytes)", m.size),
                field: "max_document_bytes",
                max: limits.max_document_bytes,
            });
        }
        let mut out = Vec::with_capacity(m.size as usize);
        self.open(name)?
            .read_to_end(&mut out)
            .map_err(io_err(format!("reading {name}")))?;
        Ok(out)
    }

    /// An OCI blob, checked against its descriptor.
    fn read_blob(&self, desc: &Descriptor, limits: &Limits) -> Result<Vec<u8>, ErrorKind> {
        let bytes = self.read_small(&format!("blobs/sha256/{}", desc.digest.hex()), limits)?;
        let actual = Digest::of(&bytes);
        if actual != desc.digest {
            return Err(ErrorKind::DigestMismatch {
                expected: desc.digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }
}
