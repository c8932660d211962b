package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sampleState(pw string) *State {
	return &State{Lab: "t", Clusters: []Cluster{{Index: 1, Login: Login{User: "k8s", Password: pw},
		Nodes: []Node{{Name: "node1", PublicAddress: "10.0.0.1", Port: 22}}}}}
}

func TestSaveLoadRoundTripAndMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	st, err := Open(dir, "t", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	empty, err := st.Load()
	if err != nil || len(empty.Clusters) != 0 {
		t.Fatalf("new lab: %+v %v", empty, err)
	}
	if err := st.Save(sampleState("abcde-fghjk-mnpqr")); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load()
	if err != nil || got.Clusters[0].Login.Password != "abcde-fghjk-mnpqr" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "state.json"))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("state mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("state dir mode %v, want 0700", di.Mode().Perm())
	}
}

// TestCrashBetweenWriteAndRename kills a real process (SIGKILL) after it has
// written and synced the new state but before the rename: the old state
// must be intact and loadable.
func TestCrashBetweenWriteAndRename(t *testing.T) {
	if os.Getenv("LABCTL_CRASH_HELPER") != "" {
		crashHelper()
		return
	}
	dir := t.TempDir()
	st, err := Open(dir, "t", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(sampleState("old00-old00-old00")); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashBetweenWriteAndRename$")
	cmd.Env = append(os.Environ(), "LABCTL_CRASH_HELPER="+dir)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf) // the helper says when it is parked before rename
	if !strings.Contains(string(buf[:n]), "parked") {
		cmd.Process.Kill()
		t.Fatalf("helper did not reach the rename: %q", buf[:n])
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	s, err := ReadState(dir)
	if err != nil {
		t.Fatalf("state unreadable after crash: %v", err)
	}
	if s.Clusters[0].Login.Password != "old00-old00-old00" {
		t.Fatalf("state changed by a crashed write: %+v", s.Clusters[0].Login)
	}
	// The crashed writer's lock is released by the kernel: a new run proceeds.
	st2, err := Open(dir, "t", 0, "after crash")
	if err != nil {
		t.Fatalf("lock not released after crash: %v", err)
	}
	defer st2.Close()
	if err := st2.Save(sampleState("new00-new00-new00")); err != nil {
		t.Fatal(err)
	}
	if s, _ := ReadState(dir); s.Clusters[0].Login.Password != "new00-new00-new00" {
		t.Fatal("resumed run could not write")
	}
}

func crashHelper() {
	dir := os.Getenv("LABCTL_CRASH_HELPER")
	st, err := Open(dir, "t", 5*time.Second, "crash helper")
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	beforeRename = func() {
		fmt.Println("parked")
		time.Sleep(time.Minute)
	}
	st.Save(sampleState("new11-new11-new11"))
	os.Exit(0)
}

func TestSecondOpenRefusesThenWaits(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(dir, "t", 0, "labctl up")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, "t", 0, "labctl destroy")
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "labctl up") || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("want busy naming the holder, got %v", err)
	}
	go func() { time.Sleep(300 * time.Millisecond); first.Close() }()
	second, err := Open(dir, "t", 5*time.Second, "labctl destroy")
	if err != nil {
		t.Fatalf("waiting open failed: %v", err)
	}
	second.Close()
}

func TestReadStateErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadState(dir); err == nil || !strings.Contains(err.Error(), "labctl up") {
		t.Fatalf("missing state: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "state.json"), []byte("{truncated"), 0o600)
	if _, err := ReadState(dir); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged state: %v", err)
	}
	b, _ := json.Marshal(State{Version: 99})
	os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600)
	if _, err := ReadState(dir); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("future state: %v", err)
	}
}

func TestPasswords(t *testing.T) {
	if PasswordBits() < 60 {
		t.Fatalf("passwords carry %.1f bits, want >= 60", PasswordBits())
	}
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		p, err := NewPassword()
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(p, "0O1lIo") {
			t.Fatalf("password %q has a confusable character", p)
		}
		if len(p) != 17 || strings.Count(p, "-") != 2 {
			t.Fatalf("password %q has the wrong shape", p)
		}
		if seen[p] {
			t.Fatalf("duplicate password %q", p)
		}
		seen[p] = true
	}
}

func TestEnsureLoginsDistinctAndStable(t *testing.T) {
	l := &Lab{Login: LoginSpec{User: "k8s"}}
	s := &State{Clusters: []Cluster{{Index: 2}, {Index: 1}, {Index: 3, Login: Login{Password: "keep0-keep0-keep0"}}}}
	if err := EnsureLogins(l, s); err != nil {
		t.Fatal(err)
	}
	if s.Clusters[0].Index != 1 || s.Clusters[2].Login.Password != "keep0-keep0-keep0" {
		t.Fatalf("order or existing password lost: %+v", s.Clusters)
	}
	if s.Clusters[0].Login.Password == s.Clusters[1].Login.Password || s.Clusters[0].Login.Password == "" {
		t.Fatal("passwords not distinct per cluster")
	}
	l.Login.Password = "shared-secret"
	EnsureLogins(l, s)
	if s.Clusters[1].Login.Password != "shared-secret" {
		t.Fatal("a password from the lab file must win")
	}
}

// --state-dir names the lab's own directory: labctl creates it, or takes
// one of the user's that is empty or already labctl's. It never makes a
// shared directory (/tmp) or one with other files private.
func TestOpenRefusesADirectoryThatIsNotLabctls(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode, files ...string) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			os.WriteFile(filepath.Join(d, f), []byte("x"), 0o600)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range []struct {
		name string
		dir  string
		want string // "" for accepted
	}{
		{"shared like /tmp", mk("tmp", 0o777|os.ModeSticky, "other.txt"), "it is shared (mode 1777)"},
		{"empty but shared", mk("tmp2", 0o777|os.ModeSticky), "it is shared (mode 1777)"},
		{"with other files", mk("home", 0o755, ".bashrc"), "it holds files that are not labctl's"},
		{"private with other files", mk("ssh", 0o700, "id_ed25519"), "it holds files that are not labctl's"},
		{"empty", mk("empty", 0o755), ""},
		{"empty but writable by others", mk("ww", 0o777), "others can write to it (mode 0777)"},
		{"labctl's own", withState(t, mk("own", 0o750, "lock"), "t"), ""},
		{"a lock is not enough (/var, /run)", mk("var", 0o755, "lock", "log"), "it holds files that are not labctl's"},
		{"a state.json that is not private", withFile(t, mk("pub", 0o700), "state.json", 0o644), "it holds files that are not labctl's"},
		{"a symbolic link", symlink(t, base, "link", mk("target", 0o700)), "it is a symbolic link"},
		{"new", filepath.Join(base, "new", "state"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, _ := os.Lstat(c.dir)
			st, err := Open(c.dir, "t", 0, "test")
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				st.Close()
				info, _ := os.Stat(c.dir)
				want := os.FileMode(0o700) // made by labctl
				if before != nil {
					want = before.Mode().Perm() // never changed
				}
				if info.Mode().Perm() != want {
					t.Fatalf("mode %o, want %o", info.Mode().Perm(), want)
				}
				return
			}
			if err == nil {
				st.Close()
			}
			if err == nil || !errors.Is(err, ErrStateDir) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want ErrStateDir with %q", err, c.want)
			}
			after, _ := os.Lstat(c.dir)
			if after.Mode() != before.Mode() {
				t.Fatalf("mode changed from %v to %v", before.Mode(), after.Mode())
			}
			if data, err := os.ReadFile(filepath.Join(c.dir, "lock")); err == nil && string(data) != "x" {
				t.Fatalf("a refused directory's lock file was written: %q", data)
			} else if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(c.dir, "logs")); !os.IsNotExist(err) {
				t.Fatal("a refused directory got logs/")
			}
		})
	}
}

func symlink(t *testing.T, base, name, target string) string {
	t.Helper()
	p := filepath.Join(base, name)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func withState(t *testing.T, dir, name string) string {
	t.Helper()
	if err := WriteFileAtomic(filepath.Join(dir, stateFile), []byte(`{"version": 1, "lab": "`+name+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func withFile(t *testing.T, dir, name string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("{}"), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, mode)
	return dir
}

// A dry run changes nothing in the state directory: no directory, no
// logs/, no lock file, no lock content, no mode.
func TestDryRunWritesNothing(t *testing.T) {
	base := t.TempDir()
	missing := filepath.Join(base, "missing")
	st, err := OpenDryRun(missing, "a", 0, "dry")
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("a dry run created the state directory")
	}
	own, err := Open(filepath.Join(base, "own"), "a", 0, "up")
	if err != nil {
		t.Fatal(err)
	}
	if err := own.Save(&State{Lab: "a"}); err != nil {
		t.Fatal(err)
	}
	own.Close()
	os.RemoveAll(filepath.Join(base, "own", "logs"))
	os.WriteFile(filepath.Join(base, "own", "lock"), []byte("holder"), 0o600)
	os.Chmod(filepath.Join(base, "own"), 0o750)
	dry, err := OpenDryRun(filepath.Join(base, "own"), "a", 0, "dry")
	if err != nil {
		t.Fatal(err)
	}
	if err := dry.Save(&State{Lab: "changed"}); err != nil {
		t.Fatal(err)
	}
	dry.Close()
	if data, _ := os.ReadFile(filepath.Join(base, "own", "lock")); string(data) != "holder" {
		t.Fatalf("a dry run wrote the lock file: %q", data)
	}
	if _, err := os.Stat(filepath.Join(base, "own", "logs")); !os.IsNotExist(err) {
		t.Fatal("a dry run made logs/")
	}
	if info, _ := os.Stat(filepath.Join(base, "own")); info.Mode().Perm() != 0o750 {
		t.Fatalf("a dry run changed the mode to %o", info.Mode().Perm())
	}
	if s, _ := ReadState(filepath.Join(base, "own")); s.Lab != "a" {
		t.Fatalf("a dry run saved the state: %+v", s)
	}
}

// A state directory holding another lab's state is refused, naming both.
func TestCheckLab(t *testing.T) {
	s := &State{Lab: "lab-b"}
	err := s.CheckLab("/x", "lab-a")
	if err == nil || !errors.Is(err, ErrStateDir) || !strings.Contains(err.Error(), `lab "lab-b", not of "lab-a"`) {
		t.Fatalf("got %v", err)
	}
	if err := s.CheckLab("/x", "lab-b"); err != nil {
		t.Fatal(err)
	}
	if err := (&State{}).CheckLab("/x", "new"); err != nil {
		t.Fatal(err)
	}
}

// A state.json that is /dev/zero, a FIFO, a link or too big is refused at
// once with one line, without being read to the end or waited on.
func TestReadStateRefusesHostileFiles(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(path string) error
		want string
	}{
		{"/dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }, "a symbolic link"},
		{"a FIFO", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "not a regular file (a named pipe)"},
		{"too big", func(p string) error {
			f, err := os.Create(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return f.Truncate(MaxStateFile + 1)
		}, "larger than 64 MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := c.make(filepath.Join(dir, "state.json")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err := ReadState(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("want one line with %q, got %v", c.want, err)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			st := &Store{dir: dir}
			if _, err := st.Load(); err == nil {
				t.Error("Store.Load took it for a new lab")
			}
		})
	}
}
