//! Key files: `<stem>.key` holds a signer key string (mode 0600, never committed) and
//! `<stem>.pub` the verifier key string, each on one line.
//!
//! The file stem is the key name with every character other than ASCII letters,
//! digits, `.`, `-` and `_` replaced by `_`, so `vouch.example/vn-apparel` is stored as
//! `vouch.example_vn-apparel.key`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::note::{Alg, KeyName, NoteError, Signer, Verifier};

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Key { path: PathBuf, source: NoteError },
    #[error("{0} already exists; refusing to overwrite a key")]
    Exists(PathBuf),
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// The file stem for a key name.
pub fn file_stem(name: &KeyName) -> String {
    name.as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Paths of the private and public key files for `name` in `dir`.
pub fn paths(dir: &Path, name: &KeyName) -> (PathBuf, PathBuf) {
    let stem = file_stem(name);
    (
        dir.join(format!("{stem}.key")),
        dir.join(format!("{stem}.pub")),
    )
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Generates a key named `name` and writes `<stem>.key` (mode 0600) and `<stem>.pub`
/// into `dir`, creating it if needed.
///
/// # Errors
/// [`KeyFileError::Exists`] when either file exists; I/O failures.
pub fn generate(dir: &Path, name: &KeyName) -> Result<(Signer, PathBuf, PathBuf), KeyFileError> {
    generate_as(dir, name, Alg::Ed25519)
}

/// [`generate`] for a key of `alg` (a witness's: [`Alg::CosignatureV1`]).
///
/// # Errors
/// [`KeyFileError::Exists`] when either file exists; I/O failures.
pub fn generate_as(
    dir: &Path,
    name: &KeyName,
    alg: Alg,
) -> Result<(Signer, PathBuf, PathBuf), KeyFileError> {
    let signer =
        Signer::generate_as(alg, name.clone()).map_err(|e| KeyFileError::Random(e.to_string()))?;
    let (key_path, pub_path) = paths(dir, name);
    write_pair(&signer, &key_path, &pub_path)?;
    Ok((signer, key_path, pub_path))
}

/// Writes a signer's private key to `key_path` (mode 0600) and its public key to
/// `pub_path`, refusing to overwrite either.
///
/// # Errors
/// [`KeyFileError::Exists`] when either file exists; I/O failures.
pub fn write_pair(signer: &Signer, key_path: &Path, pub_path: &Path) -> Result<(), KeyFileError> {
    for p in [key_path, pub_path] {
        if p.exists() {
            return Err(KeyFileError::Exists(p.to_owned()));
        }
    }
    if let Some(dir) = key_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(key_path).map_err(io_err(key_path))?;
    writeln!(f, "{}", signer.to_key_string()).map_err(io_err(key_path))?;
    f.sync_all().map_err(io_err(key_path))?;
    fs::write(pub_path, format!("{}\n", signer.verifier())).map_err(io_err(pub_path))?;
    Ok(())
}

/// Reads a signer key file.
///
/// # Errors
/// I/O failures and malformed keys, naming the file.
pub fn read_signer(path: &Path) -> Result<Signer, KeyFileError> {
    read_signer_as(path, Alg::Ed25519)
}

/// Reads a signer key file of `alg` (a witness's: [`Alg::CosignatureV1`]).
///
/// # Errors
/// I/O failures and malformed keys, naming the file.
pub fn read_signer_as(path: &Path, alg: Alg) -> Result<Signer, KeyFileError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    let parsed = match alg {
        Alg::Ed25519 => Signer::parse(text.trim()),
        Alg::CosignatureV1 => Signer::parse_cosigner(text.trim()),
    };
    parsed.map_err(|source| KeyFileError::Key {
        path: path.to_owned(),
        source,
    })
}

/// Reads a verifier key file.
///
/// # Errors
/// I/O failures and malformed keys, naming the file.
pub fn read_verifier(path: &Path) -> Result<Verifier, KeyFileError> {
    read_verifier_as(path, Alg::Ed25519)
}

/// Reads a verifier key file of `alg` (a witness's: [`Alg::CosignatureV1`]).
///
/// # Errors
/// I/O failures and malformed keys, naming the file.
pub fn read_verifier_as(path: &Path, alg: Alg) -> Result<Verifier, KeyFileError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    let parsed = match alg {
        Alg::Ed25519 => Verifier::parse(text.trim()),
        Alg::CosignatureV1 => Verifier::parse_cosigner(text.trim()),
    };
    parsed.map_err(|source| KeyFileError::Key {
        path: path.to_owned(),
        source,
    })
}
