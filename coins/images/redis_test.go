package images

import (
	"errors"
	"io/fs"
	"slices"
	"testing"
)

func TestUpstreamVersion(t *testing.T) {
	for in, want := range map[string]string{
		"5:7.0.15-1~deb12u10": "7.0.15",
		"7.0.11-1":            "7.0.11",
		"1:2.66-4+deb12u3+b1": "2.66",
		"1.2-3-4":             "1.2-3",
		"3.6":                 "3.6",
	} {
		if got := upstreamVersion(in); got != want {
			t.Errorf("upstreamVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestResolve: links are followed inside the packages only.
func TestResolve(t *testing.T) {
	r := &pkgRoot{paths: map[string]pkgPath{
		"lib64/ld-linux-x86-64.so.2":                {link: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
		"lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": {},
		"usr/bin/redis-server":                      {link: "redis-check-rdb"},
		"usr/bin/redis-check-rdb":                   {},
		"usr/share/doc/libstdc++6":                  {link: "gcc-12-base"},
		"usr/share/doc/gcc-12-base/copyright":       {},
		"usr/bin/escape":                            {link: "../../../etc/shadow"},
		"loop":                                      {link: "loop"},
	}}
	for in, want := range map[string][2]any{
		"lib64/ld-linux-x86-64.so.2":         {"lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", []string{"lib64/ld-linux-x86-64.so.2"}},
		"usr/bin/redis-server":               {"usr/bin/redis-check-rdb", []string{"usr/bin/redis-server"}},
		"usr/share/doc/libstdc++6/copyright": {"usr/share/doc/gcc-12-base/copyright", []string{"usr/share/doc/libstdc++6"}},
		"usr/bin/redis-check-rdb":            {"usr/bin/redis-check-rdb", []string(nil)},
	} {
		got, links, err := r.resolve(in, nil, 0)
		if err != nil || got != want[0] || !slices.Equal(links, want[1].([]string)) {
			t.Errorf("resolve(%s) = %q %q %v, want %q %q", in, got, links, err, want[0], want[1])
		}
	}
	for _, bad := range []string{"usr/bin/escape", "loop", "usr/bin/none"} {
		if got, _, err := r.resolve(bad, nil, 0); err == nil {
			t.Errorf("resolve(%s) = %q, want an error", bad, got)
		}
	}
	if _, _, err := r.resolve("usr/bin/none", nil, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}
