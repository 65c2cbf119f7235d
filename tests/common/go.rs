//! The independent Go client (`tests/go/tlogcheck`), built only on Go's reference
//! packages (golang.org/x/mod/sumdb/note and sumdb/tlog, from Debian's
//! golang-golang-x-mod-dev). `.ci/run` installs Go and sets `VOUCH_REQUIRE_GO=1`, so that
//! there a missing toolchain fails the test; elsewhere the Go part says it is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

const GOPATH: &str = "/usr/share/gocode";

/// The client, built in `dir`; `None` (said on stderr) when Go is missing.
pub fn client(dir: &Path) -> Option<PathBuf> {
    let go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    let x_mod = Path::new(GOPATH)
        .join("src/golang.org/x/mod/sumdb/tlog")
        .is_dir();
    if !(go && x_mod) {
        let msg = "Go (golang-go) and golang.org/x/mod (golang-golang-x-mod-dev) are needed for the Go client";
        assert!(std::env::var_os("VOUCH_REQUIRE_GO").is_none(), "{msg}");
        eprintln!("SKIPPED: {msg}; .ci/run installs them");
        return None;
    }
    let out = dir.join("tlogcheck");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/tlogcheck/main.go");
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", dir.join("cache"))
        .env("GOFLAGS", "")
        .status()
        .expect("go runs");
    assert!(status.success(), "building the Go client failed");
    Some(out)
}

/// Runs the client's `mode` (check, consistency) against the log at `url` signed by
/// `key`, with its saved checkpoint in `state`; its output, which must be a success.
pub fn run(bin: &Path, mode: &str, url: &str, key: &str, state: &Path) -> String {
    let out = Command::new(bin)
        .args([mode, url, key])
        .arg(state)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "tlogcheck {mode} failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
