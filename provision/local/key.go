package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/labctl/labctl/lab"
)

// EnsureKey returns the public half of the ed25519 key at path, generating
// the pair (0600, in a 0700 directory) when it does not exist yet.
func EnsureKey(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		s, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return "", fmt.Errorf("labctl's key %s: %w", path, err)
		}
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey()))), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("labctl's key: %w", err)
	}
	pair, err := lab.NewKeyPair("labctl")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := lab.WriteFileAtomic(path, []byte(pair.Private), 0o600); err != nil {
		return "", err
	}
	if err := lab.WriteFileAtomic(path+".pub", []byte(pair.Public+"\n"), 0o644); err != nil {
		return "", err
	}
	return keyOnly(pair.Public), nil
}
