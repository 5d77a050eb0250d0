package results

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tmpPrefix starts the name of a file being written. A crash can leave one
// behind; Load never reads it (no results suffix ends it) and the next
// write of the same file does not reuse it.
const tmpPrefix = ".tmp-"

// IsTemp reports whether name is a file WriteFile was writing when it was
// interrupted.
func IsTemp(name string) bool { return strings.HasPrefix(filepath.Base(name), tmpPrefix) }

// WriteFile writes path through write, all or nothing: into a temporary
// file in the same folder, checked at every step (each write, the flush,
// fsync and close), then renamed over path. A full or read-only disk thus
// leaves path as it was, or absent, never empty or cut short; the
// temporary file is removed on failure.
func WriteFile(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, tmpPrefix+base+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			// The temporary name would only confuse: name the file meant.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; results are for everyone to read.
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	// Without fsync a crash right after the rename can leave path empty on
	// some filesystems: the rename reaches the disk before the data.
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// WriteBytes is WriteFile for content already in memory.
func WriteBytes(path string, b []byte) error {
	return WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
