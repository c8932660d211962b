package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/ssh"

	"github.com/labctl/labctl/artifacts/webui"
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

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath("chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 600))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelT()
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
		run(typeText(k))
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

// typeText types into the focused terminal as an input method does.
// (chromedp's key events arrive in xterm.js twice, as keydown and as
// keypress, which a person's typing does not.)
func typeText(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		line, enter := strings.CutSuffix(text, "\r")
		if _, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: line}); err != nil || !enter {
			return err
		}
		// Enter as a key alone: no char event, which would be a second Enter.
		for _, kind := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: kind, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}); err != nil {
				return err
			}
		}
		return nil
	})
}
