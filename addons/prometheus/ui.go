package prometheus

import (
	"context"
	"io"

	"github.com/labctl/labctl/artifacts/webui"
)

// makeUI builds the UI (or finds it in the cache) for the image.
func makeUI(ctx context.Context, cacheDir string, log io.Writer) (string, error) {
	return webui.Build(ctx, UI(), webui.Options{CacheDir: cacheDir, Log: log})
}
