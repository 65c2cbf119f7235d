// tlogcheck is an independent client of a vouch server, written only against Go's
// reference packages golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog.
//
//	tlogcheck check URL VERIFIER-KEY STATE-FILE
//	    verifies the checkpoint signature, every hash tile and entry bundle, the tree
//	    root, and inclusion of several entries; saves the checkpoint to STATE-FILE.
//	tlogcheck consistency URL VERIFIER-KEY STATE-FILE
//	    proves that today's tree extends the one saved in STATE-FILE.
//	tlogcheck proof FILE VERIFIER-KEY
//	    verifies a C2SP tlog-proof offline: the checkpoint's signature, and the
//	    entry in its extra line included at its index; prints the index and size.
//
// Tiles follow C2SP tlog-tiles: Go's tile/8/L/N paths without the height, and
// tile/entries/N for data tiles.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

func fetch(base, path string) []byte {
	resp, err := http.Get(base + "/" + path)
	if err != nil {
		die("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		die("GET %s: %v", path, err)
	}
	if resp.StatusCode != 200 {
		die("GET %s: status %d: %s", path, resp.StatusCode, body)
	}
	return body
}

// c2spPath turns Go's tile path into the C2SP one.
func c2spPath(t tlog.Tile) string {
	p := strings.Replace(t.Path(), fmt.Sprintf("tile/%d/", t.H), "tile/", 1)
	return strings.Replace(p, "tile/data/", "tile/entries/", 1)
}

type tileReader struct{ base string }

func (r tileReader) Height() int { return height }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		out[i] = fetch(r.base, c2spPath(t))
		if len(out[i]) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes, want %d", c2spPath(t), len(out[i]), t.W*tlog.HashSize)
		}
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// checkpoint opens a C2SP checkpoint: origin, size, root hash, then extension lines.
func checkpoint(msg []byte, v note.Verifier) (tlog.Tree, string) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		die("checkpoint signature: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 || lines[0] != v.Name() {
		die("malformed checkpoint or wrong origin: %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		die("bad tree size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		die("bad root hash %q", lines[2])
	}
	var h tlog.Hash
	copy(h[:], raw)
	return tlog.Tree{N: size, Hash: h}, n.Text
}

// bundle splits an entry bundle: big-endian uint16 lengths, exactly w entries.
func bundle(data []byte, w int) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			die("truncated entry bundle")
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			die("truncated entry bundle")
		}
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	if len(out) != w {
		die("entry bundle holds %d entries, want %d", len(out), w)
	}
	return out
}

// proof verifies a C2SP tlog-proof file, as c2sp.org/tlog-proof describes it.
func proof(path, vkey string) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		die("verifier key: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	text := string(data)
	i := strings.Index(text, "\n\n")
	if i < 0 {
		die("no blank line before the checkpoint")
	}
	lines := strings.Split(text[:i], "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		die("not a tlog-proof: %q", lines[0])
	}
	lines = lines[1:]
	var extra []byte
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		extra, err = base64.StdEncoding.DecodeString(lines[0][len("extra "):])
		if err != nil {
			die("extra: %v", err)
		}
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		die("no index line")
	}
	index, err := strconv.ParseInt(lines[0][len("index "):], 10, 64)
	if err != nil || strconv.FormatInt(index, 10) != lines[0][len("index "):] {
		die("bad index %q", lines[0])
	}
	var rp tlog.RecordProof
	for _, l := range lines[1:] {
		raw, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(raw) != tlog.HashSize {
			die("bad proof hash %q", l)
		}
		var h tlog.Hash
		copy(h[:], raw)
		rp = append(rp, h)
	}
	tree, _ := checkpoint([]byte(text[i+2:]), v)
	if err := tlog.CheckRecord(rp, tree.N, tree.Hash, index, tlog.RecordHash(extra)); err != nil {
		die("inclusion: %v", err)
	}
	fmt.Printf("proof ok: entry %d in a tree of %d\n", index, tree.N)
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "proof" {
		proof(os.Args[2], os.Args[3])
		return
	}
	if len(os.Args) != 5 {
		die("usage: tlogcheck check|consistency URL VERIFIER-KEY STATE-FILE")
	}
	mode, base, vkey, state := os.Args[1], strings.TrimSuffix(os.Args[2], "/"), os.Args[3], os.Args[4]
	v, err := note.NewVerifier(vkey)
	if err != nil {
		die("verifier key: %v", err)
	}
	msg := fetch(base, "checkpoint")
	tree, _ := checkpoint(msg, v)
	hr := tlog.TileHashReader(tree, tileReader{base})

	switch mode {
	case "check":
		root, err := tlog.TreeHash(tree.N, hr)
		if err != nil || root != tree.Hash {
			die("tree hash: %v (%v != %v)", err, root, tree.Hash)
		}
		// Every hash tile, as served, equals the tile built from proven hashes.
		tiles := tlog.NewTiles(height, 0, tree.N)
		for _, t := range tiles {
			served := fetch(base, c2spPath(t))
			want, err := tlog.ReadTileData(t, hr)
			if err != nil || !bytes.Equal(served, want) {
				die("tile %s does not match the tree: %v", c2spPath(t), err)
			}
		}
		// Every entry bundle: each entry's record hash is the proven leaf hash.
		entries := make([][]byte, 0, tree.N)
		for n := int64(0); n*256 < tree.N; n++ {
			w := tree.N - n*256
			if w > 256 {
				w = 256
			}
			t := tlog.Tile{H: height, L: -1, N: n, W: int(w)}
			entries = append(entries, bundle(fetch(base, c2spPath(t)), int(w))...)
		}
		for i, e := range entries {
			leaf, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, int64(i))})
			if err != nil || tlog.RecordHash(e) != leaf[0] {
				die("entry %d does not hash to its leaf: %v", i, err)
			}
		}
		// Inclusion of several entries.
		for _, i := range []int64{0, 1, tree.N / 2, tree.N - 2, tree.N - 1} {
			if i < 0 || i >= tree.N {
				continue
			}
			p, err := tlog.ProveRecord(tree.N, i, hr)
			if err != nil {
				die("prove record %d: %v", i, err)
			}
			if err := tlog.CheckRecord(p, tree.N, tree.Hash, i, tlog.RecordHash(entries[i])); err != nil {
				die("check record %d: %v", i, err)
			}
		}
		if err := os.WriteFile(state, msg, 0o644); err != nil {
			die("save state: %v", err)
		}
		fmt.Printf("ok: checkpoint of %d entries, %d hash tiles, %d entries and 5 inclusion proofs verified\n", tree.N, len(tiles), len(entries))
	case "consistency":
		old, err := os.ReadFile(state)
		if err != nil {
			die("read state: %v", err)
		}
		oldTree, _ := checkpoint(old, v)
		if oldTree.N > tree.N {
			die("the tree shrank from %d to %d", oldTree.N, tree.N)
		}
		p, err := tlog.ProveTree(tree.N, oldTree.N, hr)
		if err != nil {
			die("prove tree: %v", err)
		}
		if err := tlog.CheckTree(p, tree.N, tree.Hash, oldTree.N, oldTree.Hash); err != nil {
			die("the tree of %d entries is not a prefix of the tree of %d: %v", oldTree.N, tree.N, err)
		}
		fmt.Printf("ok: the tree of %d entries extends the saved tree of %d\n", tree.N, oldTree.N)
	default:
		die("unknown mode %q", mode)
	}
}
