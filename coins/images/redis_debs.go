package images

// Unpacking Debian packages and following what redis-server loads: the
// files that go into the Redis layer.

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/labctl/labctl/artifacts/goimage"
)

// pkgRoot is a set of unpacked packages, each in a directory of its own,
// and an index of their paths.
type pkgRoot struct {
	pkgs  map[string]pkgInfo
	paths map[string]pkgPath // no leading slash
}

type pkgInfo struct{ version, dir string }

type pkgPath struct {
	pkg  string
	src  string // on disk
	mode fs.FileMode
	link string // symbolic link target
}

var packageName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// unpack extracts every .deb into dir/<package> (dpkg-deb -x, no script
// runs) and indexes the files.
func unpack(ctx context.Context, debs []string, dir string) (*pkgRoot, error) {
	if len(debs) == 0 {
		return nil, fmt.Errorf("no packages downloaded")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root := &pkgRoot{pkgs: map[string]pkgInfo{}, paths: map[string]pkgPath{}}
	var mu sync.Mutex
	sem := make(chan struct{}, max(2, runtime.NumCPU()))
	errs := make([]error, len(debs))
	var wg sync.WaitGroup
	for i, deb := range debs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out, err := exec.CommandContext(ctx, "dpkg-deb", "--show", "--showformat=${Package} ${Version}", deb).Output()
			if err != nil {
				errs[i] = fmt.Errorf("dpkg-deb --show %s: %w", deb, err)
				return
			}
			name, version, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
			if !packageName.MatchString(name) {
				errs[i] = fmt.Errorf("%s: odd package name %q", deb, name)
				return
			}
			target := filepath.Join(dir, name)
			if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, target).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("dpkg-deb -x %s: %v: %s", deb, err, out)
				return
			}
			mu.Lock()
			root.pkgs[name] = pkgInfo{version: version, dir: target}
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range root.pkgs {
			if !yield(n) {
				return
			}
		}
	})
	for _, name := range names {
		pdir := root.pkgs[name].dir
		err := filepath.WalkDir(pdir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(pdir, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if _, dup := root.paths[rel]; dup {
				return nil // first package wins (names sorted: deterministic)
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			pp := pkgPath{pkg: name, src: p, mode: info.Mode()}
			if d.Type()&fs.ModeSymlink != 0 {
				if pp.link, err = os.Readlink(p); err != nil {
					return err
				}
			}
			root.paths[rel] = pp
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return root, nil
}

// resolve follows symbolic links inside the packages (never out to the
// host) and returns the file p names, and the links met on the way.
func (r *pkgRoot) resolve(p string, links []string, depth int) (string, []string, error) {
	if depth > 40 {
		return "", nil, fmt.Errorf("%s: too many levels of symbolic links", p)
	}
	parts := strings.Split(p, "/")
	cur := ""
	for i, part := range parts {
		next := path.Join(cur, part)
		if pp, ok := r.paths[next]; ok && pp.link != "" {
			links = append(links, next)
			target := pp.link
			if path.IsAbs(target) {
				target = strings.TrimPrefix(path.Clean(target), "/")
			} else {
				target = path.Join(cur, target)
			}
			if target == ".." || strings.HasPrefix(target, "../") {
				return "", nil, fmt.Errorf("%s: link %s leaves the root", p, pp.link)
			}
			return r.resolve(path.Join(append([]string{target}, parts[i+1:]...)...), links, depth+1)
		}
		cur = next
	}
	if _, ok := r.paths[cur]; !ok {
		return "", nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return cur, links, nil
}

// closure lists the roots, the dynamic loader and every shared library they
// load, recursively, with the symbolic links leading to them. The ELF files
// are read, never run: this works for any architecture.
func (r *pkgRoot) closure(roots []string, machine elf.Machine, triplet string) ([]string, error) {
	dirs := []string{"lib/" + triplet, "usr/lib/" + triplet, "lib", "usr/lib"}
	include := map[string]bool{}
	done := map[string]bool{}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		file, links, err := r.resolve(p, nil, 0)
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			include[l] = true
		}
		include[file] = true
		if done[file] {
			continue
		}
		done[file] = true
		f, err := elf.Open(r.paths[file].src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if f.Machine != machine {
			f.Close()
			return nil, fmt.Errorf("%s is for %s, not %s", file, f.Machine, machine)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				data := make([]byte, prog.Filesz)
				if _, err := prog.ReadAt(data, 0); err != nil {
					f.Close()
					return nil, fmt.Errorf("%s: PT_INTERP: %w", file, err)
				}
				queue = append(queue, strings.TrimPrefix(strings.TrimRight(string(data), "\x00"), "/"))
			}
		}
		needed, err := f.ImportedLibraries()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		for _, lib := range needed {
			found := ""
			for _, d := range dirs {
				if _, _, err := r.resolve(path.Join(d, lib), nil, 0); err == nil {
					found = path.Join(d, lib)
					break
				}
			}
			if found == "" {
				return nil, fmt.Errorf("%s needs %s, found in none of %v of the downloaded packages", file, lib, dirs)
			}
			queue = append(queue, found)
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for p := range include {
			if !yield(p) {
				return
			}
		}
	}), nil
}

// entries makes layer entries of files (with their parent directories) and
// the copyright file of every package they come from, which it lists as
// name=version.
func (r *pkgRoot) entries(files []string) ([]goimage.Entry, []string, error) {
	pkgSet := map[string]bool{}
	for _, f := range files {
		pkgSet[r.paths[f].pkg] = true
	}
	all := map[string]bool{}
	for _, f := range files {
		all[f] = true
	}
	var pkgs []string
	for pkg := range pkgSet {
		pkgs = append(pkgs, pkg+"="+r.pkgs[pkg].version)
		// Some doc directories are links to another package's.
		file, links, err := r.resolve("usr/share/doc/"+pkg+"/copyright", nil, 0)
		if err != nil {
			continue
		}
		all[file] = true
		for _, l := range links {
			all[l] = true
		}
	}
	slices.Sort(pkgs)
	dirs := map[string]bool{}
	for f := range all {
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var out []goimage.Entry
	for d := range dirs {
		if all[d] {
			return nil, nil, fmt.Errorf("%s is both a directory and a file", d)
		}
		out = append(out, goimage.Entry{Name: d + "/", Mode: 0o755})
	}
	for f := range all {
		pp := r.paths[f]
		if pp.link != "" {
			out = append(out, goimage.Entry{Name: f, Mode: 0o777, Link: pp.link})
			continue
		}
		data, err := os.ReadFile(pp.src)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, goimage.Entry{Name: f, Mode: int64(pp.mode.Perm()), Data: data})
	}
	return out, pkgs, nil
}

// sortEntries sorts by name without the trailing slash: a directory comes
// before its contents.
func sortEntries(entries []goimage.Entry) []goimage.Entry {
	slices.SortFunc(entries, func(a, b goimage.Entry) int {
		return strings.Compare(strings.TrimSuffix(a.Name, "/"), strings.TrimSuffix(b.Name, "/"))
	})
	return entries
}
