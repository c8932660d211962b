// Package browsertest is what tests share to drive a page in headless
// Chromium: a browser that goes with the test, and typing into a
// terminal page as a person does. Only tests import it.
package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// Chromium starts headless Chromium (from PATH) with a width x height
// window and returns its context for chromedp.Run, and stop; the browser
// stops at stop, after timeout, or at the end of the test.
func Chromium(t testing.TB, width, height int, timeout time.Duration) (ctx context.Context, stop func()) {
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath("chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	stop = func() { cancelT(); cancel(); cancelAlloc() }
	t.Cleanup(stop)
	return ctx, stop
}

// TypeText types text into the focused terminal as an input method does,
// a final "\r" as the Enter key. (chromedp's key events arrive in
// xterm.js twice, as keydown and as keypress, which a person's typing
// does not.)
func TypeText(text string) chromedp.Action[chromedp.Void] {
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
