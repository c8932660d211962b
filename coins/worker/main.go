// Command worker mines DockerCoins: it gets random bytes from rng, has them
// hashed by hasher, keeps the hashes starting with "0" in the Redis hash
// "wallet", and counts its units of work in the Redis key "hashes".
//
// One unit of work takes about 0.3 s (sleep 0.1 s, rng 0.1 s, hasher 0.1 s):
// one worker mines ~3.33 hashes/second. The exercises depend on that number,
// on a new TCP connection per HTTP request (Kubernetes balances connections,
// not requests), and on the worker ignoring SIGTERM.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// firstSleep is the pause at the start of every unit of work. Worker v0.2 is
// this program with the first sleep at 1 second (edit the line, or build with
// -ldflags "-X main.firstSleep=1s").
var firstSleep = "100ms"

type worker struct {
	redis  *redis.Client
	client *http.Client
	rngs   []string // base URLs, used in turn
	next   int
	hasher string
	sleep  time.Duration
	debug  bool
}

func (w *worker) debugf(format string, args ...any) {
	if w.debug {
		log.Printf(format, args...)
	}
}

// getRandomBytes asks the next rng for 32 random bytes.
func (w *worker) getRandomBytes(ctx context.Context) ([]byte, error) {
	base := w.rngs[w.next%len(w.rngs)]
	w.next++
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/32", nil)
	if err != nil {
		return nil, err
	}
	return w.do(req)
}

// hashBytes has hasher hash data and returns the hex digest.
func (w *worker) hashBytes(ctx context.Context, data []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.hasher+"/", bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	body, err := w.do(req)
	return string(body), err
}

func (w *worker) do(req *http.Request) ([]byte, error) {
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s", req.Method, req.URL, resp.Status)
	}
	return body, nil
}

// workOnce does one unit of work.
func (w *worker) workOnce(ctx context.Context) error {
	w.debugf("Doing one unit of work")
	time.Sleep(w.sleep) // the first sleep
	randomBytes, err := w.getRandomBytes(ctx)
	if err != nil {
		return err
	}
	hexHash, err := w.hashBytes(ctx, randomBytes)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(hexHash, "0") {
		w.debugf("No coin found")
		return nil
	}
	log.Printf("Coin found: %.8s...", hexHash)
	created, err := w.redis.HSet(ctx, "wallet", hexHash, randomBytes).Result()
	if err != nil {
		return err
	}
	if created == 0 {
		log.Printf("We already had that coin")
	}
	return nil
}

// workLoop works forever, adding to the "hashes" counter at most once per
// second, and returns the first error.
func (w *worker) workLoop(ctx context.Context) error {
	var deadline time.Time
	done := 0
	for {
		if time.Now().After(deadline) {
			log.Printf("%d units of work done, updating hash counter", done)
			if err := w.redis.IncrBy(ctx, "hashes", int64(done)).Err(); err != nil {
				return err
			}
			done = 0
			deadline = time.Now().Add(time.Second)
		}
		if err := w.workOnce(ctx); err != nil {
			return err
		}
		done++
	}
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// baseURLs splits a comma-separated list of base URLs.
func baseURLs(list string) []string {
	var urls []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

func main() {
	log.SetOutput(os.Stdout)
	sleep, err := time.ParseDuration(firstSleep)
	if err != nil {
		log.Fatalf("firstSleep %q: %v", firstSleep, err)
	}
	rngs := baseURLs(getenv("DOCKERCOINS_RNG", "http://rng"))
	if len(rngs) == 0 {
		log.Fatal("DOCKERCOINS_RNG lists no URL")
	}

	// Kubernetes sends SIGTERM, waits 30 s, then kills. The original worker
	// did not handle signals, and the rolling-update exercise shows old pods
	// mining through that grace period; a Go program would exit at once, so
	// SIGTERM is ignored on purpose.
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	go func() {
		for range terms {
			log.Printf("Received SIGTERM; ignoring it, like the original worker")
		}
	}()

	w := &worker{
		redis: redis.NewClient(&redis.Options{
			Addr:                     getenv("DOCKERCOINS_REDIS", "redis:6379"),
			Protocol:                 2,
			DisableIdentity:          true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		}),
		client: &http.Client{
			// A new TCP connection per request: see the package comment.
			Transport: &http.Transport{DisableKeepAlives: true},
			Timeout:   time.Minute,
		},
		rngs:   rngs,
		hasher: strings.TrimRight(getenv("DOCKERCOINS_HASHER", "http://hasher"), "/"),
		sleep:  sleep,
		debug:  os.Getenv("DEBUG") != "",
	}
	log.Printf("Worker starting: first sleep %s, rng %s, hasher %s", sleep, strings.Join(rngs, ","), w.hasher)
	ctx := context.Background()
	for {
		err := w.workLoop(ctx)
		if errors.Is(err, context.Canceled) {
			return
		}
		log.Printf("In work loop: %v", err)
		log.Printf("Waiting 10s and restarting")
		time.Sleep(10 * time.Second)
	}
}
