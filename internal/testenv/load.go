package testenv

import (
	"os"
	"runtime"
	"sync"
	"time"
)

// CPULoad keeps workers goroutines spinning, each on its own thread, for
// d or until stop is called, whichever comes first: a bounded `stress
// --cpu workers --timeout d` that cannot outlive the process (nor d).
func CPULoad(workers int, d time.Duration) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	stop = func() { once.Do(func() { close(done) }) }
	deadline := time.Now().Add(d)
	for i := 0; i < workers; i++ {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			x := uint64(i) + 1
			for n := 0; ; n++ {
				for j := 0; j < 1<<16; j++ { // a few hundred µs of work
					x ^= x << 13
					x ^= x >> 7
					x ^= x << 17
				}
				select {
				case <-done:
					return
				default:
				}
				if n%64 == 0 && time.Now().After(deadline) {
					return
				}
			}
		}()
	}
	time.AfterFunc(d, stop)
	return stop
}

// LoadAverage is the one-minute load average (/proc/loadavg), or "?".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	for i, c := range b {
		if c == ' ' {
			return string(b[:i])
		}
	}
	return "?"
}
