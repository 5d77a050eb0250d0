package main

import (
	"debug/elf"
	"fmt"
	"strings"
)

// staticELF says why the file at p cannot run on an empty base, or nil
// when it can: an ELF executable that asks for no program interpreter
// (PT_INTERP, the dynamic loader) and names no shared library
// (DT_NEEDED). A static-pie binary (ET_DYN without PT_INTERP) passes.
func staticELF(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("ELF type %v, not an executable", f.Type)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("not statically linked: needs %s", interpreter(prog))
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return fmt.Errorf("read its dynamic section: %w", err)
	}
	if len(libs) > 0 {
		return fmt.Errorf("not statically linked: needs %s", strings.Join(libs, ", "))
	}
	return nil
}

// interpreter is the path a PT_INTERP segment names, such as
// /lib64/ld-linux-x86-64.so.2.
func interpreter(prog *elf.Prog) string {
	const unnamed = "a program interpreter"
	if prog.Filesz == 0 || prog.Filesz > 4096 {
		return unnamed
	}
	b := make([]byte, prog.Filesz)
	if _, err := prog.ReadAt(b, 0); err != nil {
		return unnamed
	}
	return strings.TrimRight(string(b), "\x00")
}
