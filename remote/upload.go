package remote

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

// Upload streams r over SFTP to a temporary file, checks its SHA-256 on the
// host, then moves it into place with mode. A half-written file never
// appears at path.
func (x *sshHost) Upload(ctx context.Context, r io.Reader, dst string, mode os.FileMode) error {
	start := time.Now()
	sum, size, err := x.upload(ctx, r, dst, mode)
	status := fmt.Sprintf("uploaded %d bytes sha256:%s", size, sum)
	if err != nil {
		status = "upload failed: " + Redact(err.Error(), x.e.cfg.Secrets)
	}
	x.log.write("upload "+dst, nil, status, time.Since(start))
	return err
}

func (x *sshHost) upload(ctx context.Context, r io.Reader, dst string, mode os.FileMode) (string, int64, error) {
	c, err := x.e.client(ctx, x.h)
	if err != nil {
		return "", 0, err
	}
	client, err := sftp.NewClient(c.ssh, sftp.UseConcurrentWrites(true))
	if err != nil {
		err = x.e.lost(x.h, c, err)
		x.e.drop(x.h, c)
		return "", 0, fmt.Errorf("%s: sftp to %s: %w", x.h.Name, dst, err)
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()

	// As root, the temp file sits beside dst so the final mv is a rename.
	// Otherwise it lands in /tmp and sudo moves it.
	tmp := path.Join(path.Dir(dst), "."+path.Base(dst)+".labctl-"+randomSuffix())
	if x.e.cfg.User != "root" {
		tmp = "/tmp/labctl-upload-" + randomSuffix()
	}
	if err := client.MkdirAll(path.Dir(tmp)); err != nil {
		return "", 0, fmt.Errorf("%s: create %s: %w", x.h.Name, path.Dir(tmp), x.e.lost(x.h, c, err))
	}
	f, err := client.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return "", 0, fmt.Errorf("%s: create %s: %w", x.h.Name, tmp, x.e.lost(x.h, c, err))
	}
	h := sha256.New()
	n, copyErr := io.Copy(f, io.TeeReader(r, h))
	closeErr := f.Close()
	if err := firstErr(ctx.Err(), copyErr, closeErr); err != nil {
		if ctx.Err() == nil {
			err = x.e.lost(x.h, c, err)
		}
		_ = client.Remove(tmp)
		return "", n, fmt.Errorf("%s: upload %s: %w", x.h.Name, dst, err)
	}
	want := hex.EncodeToString(h.Sum(nil))
	q := ShellQuote(tmp)
	res, err := x.Run(ctx, Command{Line: "sha256sum " + q, AsLogin: true})
	if err != nil {
		_ = client.Remove(tmp)
		return want, n, err
	}
	if got, _, _ := strings.Cut(string(res.Stdout), " "); got != want {
		_ = client.Remove(tmp)
		return want, n, fmt.Errorf("%s: upload %s: checksum mismatch: sent sha256:%s, host has sha256:%s", x.h.Name, dst, want, got)
	}
	move := fmt.Sprintf("chmod %o %s && mv -f %s %s", mode.Perm(), q, q, ShellQuote(dst))
	if x.e.cfg.User != "root" {
		// /tmp and dst may be different file systems: copy beside dst first.
		near := ShellQuote(path.Join(path.Dir(dst), "."+path.Base(dst)+".labctl-"+randomSuffix()))
		move = fmt.Sprintf("install -D -o root -g root -m %o %s %s && mv -f %s %s; rc=$?; rm -f %s; exit $rc", mode.Perm(), q, near, near, ShellQuote(dst), q)
	}
	if _, err := x.Run(ctx, Command{Line: move}); err != nil {
		_ = client.Remove(tmp)
		return want, n, err
	}
	return want, n, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
