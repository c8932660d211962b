package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/ssh"

	"github.com/labctl/labctl/artifacts/webui"
	"github.com/labctl/labctl/internal/browsertest"
	"github.com/labctl/labctl/webterm"
)

// TestPageInChromium drives the real page (xterm.js from the npm
// registry, through labctl's cache) in headless Chromium against a real
// SSH server and tmux: log in, type, a second terminal, a reload that
// finds the first shell still running its command.
func TestPageInChromium(t *testing.T) {
	if os.Getenv("LABCTL_E2E") == "" {
		t.Skip("needs Chromium, npm and tmux (set LABCTL_E2E=1)")
	}
	for _, p := range []string{"chromium", "tmux", "npm"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	cache, _ := os.UserCacheDir()
	dir, err := webui.Fetch(context.Background(), webterm.Assets(), webui.Options{CacheDir: filepath.Join(cache, "labctl", "images")})
	if err != nil {
		t.Fatal(err)
	}
	sshd := startSSHD(t, user, password)
	srv := New(Config{SSHAddr: sshd.addr, HostKeys: []ssh.PublicKey{sshd.hostKey}, Assets: os.DirFS(dir)})
	defer srv.Close()
	ts := httptestServer(t, srv)

	ctx, stop := browsertest.Chromium(t, 1000, 600, 2*time.Minute)
	defer stop()
	run := func(a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.Run(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	rows := func(n int) string {
		s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#term-`+strconv.Itoa(n)+` .xterm-rows")||{}).innerText||""`))
		return s
	}
	wait := func(n int, re string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !regexp.MustCompile(re).MatchString(rows(n)); {
			if time.Now().After(deadline) {
				t.Fatalf("terminal %d never showed %s:\n%s", n, re, rows(n))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	keys := func(n int, k string) {
		t.Helper()
		run(chromedp.Click(chromedp.CSS("#term-" + strconv.Itoa(n) + " .xterm-rows")))
		run(browsertest.TypeText(k))
	}
	run(chromedp.Navigate(ts))
	run(chromedp.WaitVisible(chromedp.CSS("#login")))
	run(chromedp.SetValue(chromedp.CSS("#user"), user))
	run(chromedp.SetValue(chromedp.CSS("#password"), "wrong"))
	run(chromedp.Click(chromedp.CSS("#go")))
	time.Sleep(time.Second)
	if msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("error").textContent`)); msg != "login or password incorrect" {
		t.Errorf("wrong password: page says %q", msg)
	}
	run(chromedp.SetValue(chromedp.CSS("#password"), password))
	run(chromedp.Click(chromedp.CSS("#go")))
	run(chromedp.WaitVisible(chromedp.CSS("#term-1 .xterm-rows")))
	keys(1, "echo hello-$((6*7))\r")
	wait(1, `hello-42`)
	keys(1, "i=0; while sleep 1; do i=$((i+1)); echo tick-$i; done\r")
	wait(1, `tick-\d+`)
	run(chromedp.Click(chromedp.CSS("#add")))
	run(chromedp.WaitVisible(chromedp.CSS("#term-2 .xterm-rows")))
	keys(2, "echo second-$((40+2))\r")
	wait(2, `second-42`)
	if _, terms := srv.Terminals(); terms != 2 {
		t.Errorf("terminals open: %d", terms)
	}
	run(chromedp.Reload())
	run(chromedp.WaitVisible(chromedp.CSS("#term-1 .xterm-rows"))) // the first tab shows
	run(chromedp.WaitReady(chromedp.CSS("#tab-2")))                // and both reopened
	before := regexp.MustCompile(`tick-(\d+)`).FindAllStringSubmatch(rows(1), -1)
	time.Sleep(2500 * time.Millisecond)
	after := regexp.MustCompile(`tick-(\d+)`).FindAllStringSubmatch(rows(1), -1)
	if len(after) == 0 || len(before) > 0 && after[len(after)-1][1] == before[len(before)-1][1] {
		t.Errorf("after the reload, terminal 1's loop is not running:\n%s", rows(1))
	}
	if sshd.logins != 1 {
		t.Errorf("%d SSH logins; the reload must reuse the session cookie's", sshd.logins)
	}
	if out := os.Getenv("LABCTL_ARTIFACTS"); out != "" {
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err == nil {
			os.MkdirAll(out, 0o755)
			os.WriteFile(filepath.Join(out, "webterm-page.png"), png, 0o644)
		}
	}
}
