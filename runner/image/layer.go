package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// dir is a directory the layer holds even when no file is put in it.
type dir struct {
	path string
	mode int64
}

// layer is one built layer and what it holds, for the summary.
type layer struct {
	v1.Layer
	files        []file
	uncompressed int64
}

// tarLayer makes a layer of files and dirs that is the same bytes every
// time: entries sorted by path (a parent before its children, as its path
// is a prefix of theirs), every parent directory written, owner root,
// and every time set to epoch. Contents are read now, so the sources may
// go once it returns.
func tarLayer(files []file, dirs []dir, epoch time.Time) (layer, error) {
	type entry struct {
		hdr *tar.Header
		src string
	}
	entries := map[string]entry{}
	addDir := func(p string, mode int64) {
		for ; p != "/" && p != "."; p = path.Dir(p) {
			if _, ok := entries[p]; !ok {
				entries[p] = entry{hdr: &tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(p, "/") + "/", Mode: mode}}
			}
			mode = 0o755 // the parents of an explicit directory
		}
	}
	for _, d := range dirs {
		addDir(d.path, d.mode)
	}
	var sized []file
	for _, f := range files {
		st, err := os.Stat(f.src)
		if err != nil {
			return layer{}, fmt.Errorf("layer: %w", err)
		}
		if _, dup := entries[f.path]; dup {
			return layer{}, fmt.Errorf("layer: %s given twice", f.path)
		}
		entries[f.path] = entry{hdr: &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.path, "/"), Mode: f.mode, Size: st.Size()}, src: f.src}
		sized = append(sized, file{path: f.path, src: f.src, mode: f.mode, size: st.Size()})
		addDir(path.Dir(f.path), 0o755)
	}
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := entries[p]
		e.hdr.ModTime = epoch
		e.hdr.Uname, e.hdr.Gname = "root", "root"
		e.hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(e.hdr); err != nil {
			return layer{}, fmt.Errorf("layer: %s: %w", p, err)
		}
		if e.src == "" {
			continue
		}
		if err := copyFile(tw, e.src, e.hdr.Size); err != nil {
			return layer{}, fmt.Errorf("layer: %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return layer{}, fmt.Errorf("layer: %w", err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
	if err != nil {
		return layer{}, fmt.Errorf("layer: %w", err)
	}
	sort.Slice(sized, func(i, j int) bool { return sized[i].path < sized[j].path })
	return layer{Layer: l, files: sized, uncompressed: int64(len(b))}, nil
}

// copyFile copies exactly size bytes of src: a file that changed size
// since it was stat'ed fails rather than writing a corrupt entry.
func copyFile(w io.Writer, src string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s: read %d bytes, want %d", src, n, size)
	}
	return nil
}
