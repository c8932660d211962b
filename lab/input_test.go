package lab

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Zero from the environment is as wrong as zero in the file: it must not
// quietly become the default.
func TestEnvironmentZeroIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lab.yaml")
	os.WriteFile(path, []byte("name: z\n"), 0o644)
	for _, c := range []struct{ env, want string }{
		{"LABCTL_ATTENDEES=0", "attendees: 0 is out of range (1 to 500)"},
		{"LABCTL_NODESPERCLUSTER=0", "nodesPerCluster: 0 is out of range (1 to 10)"},
		{"LABCTL_SSH_PARALLEL=0", "ssh.parallel: 0 is out of range (1 to 1000)"},
	} {
		_, err := Load(LoadOptions{Path: path, Environ: []string{c.env}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.env, err, c.want)
		}
	}
}

// An identity file that is not a private key is found when the lab file
// is read, not after the nodes are made.
func TestIdentityFileMustParse(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "id_junk")
	os.WriteFile(junk, []byte("this is not a key\n"), 0o600)
	for _, c := range []struct{ src, want string }{
		{"ssh: {identityFile: " + junk + "}\n", "ssh.identityFile: " + junk + " is not an SSH private key"},
		{"ssh: {bastion: {address: 1.2.3.4, identityFile: " + junk + "}}\n", "ssh.bastion.identityFile: " + junk + " is not an SSH private key"},
		{"ssh: {identityFile: /dev/zero}\n", "ssh.identityFile: /dev/zero: not a regular file (a device)"},
	} {
		_, err := Parse("lab.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("got %v, want one line with %q", err, c.want)
		}
	}
	kp, err := NewKeyPair("t")
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "id_ed25519")
	os.WriteFile(good, []byte(kp.Private), 0o600)
	if _, err := Parse("lab.yaml", []byte("ssh: {identityFile: "+good+"}\n")); err != nil {
		t.Fatalf("a real key: %v", err)
	}
}

// -f /dev/zero must not eat the memory, -f a FIFO must not hang, and a
// huge file is refused by its size.
func TestLabFileMustBeASmallRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, []byte("name: big\n"+strings.Repeat("# padding\n", 200_000)), 0o644)
	for _, c := range []struct{ path, want string }{
		{"/dev/zero", "lab file /dev/zero: not a regular file"},
		{fifo, "lab file " + fifo + ": not a regular file"},
		{dir, "lab file " + dir + ": not a regular file (a directory)"},
		{big, "lab file " + big + ": larger than 1 MiB"},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := Load(LoadOptions{Path: c.path, Environ: []string{}})
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: got %v, want %q", c.path, err, c.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Load hangs", c.path)
		}
	}
}
