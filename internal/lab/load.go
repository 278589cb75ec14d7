package lab

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Hit is one request of a Load: which URL it went to, when, how long it
// took and what came back.
type Hit struct {
	Target int // the index of the URL in the Load's list
	Worker int
	At     time.Time
	Took   time.Duration
	Body   []byte // the answer of a 200
	Err    error  // a transport error, or a status other than 200
}

// Load is a bounded load loop: several workers send GET requests with
// one Host header, each in turn over a list of URLs on the lab's own
// hosts, until Finish, a count of requests or a time limit, whichever
// comes first. It stops by itself.
type Load struct {
	mu   sync.Mutex
	hits []Hit
	stop chan struct{}
	done chan struct{}
}

// StartLoad starts workers sending requests to urls with the Host header
// vhost, limit requests at the most, for maxTime at the most; timeout
// bounds each request (0 means 5 s). Give it only 127.0.0.1 or lab host
// addresses.
func StartLoad(urls []string, vhost string, workers, limit int, maxTime, timeout time.Duration) *Load {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	l := &Load{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: workers, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}}
	deadline := time.Now().Add(maxTime)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent int
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				mu.Lock()
				if sent >= limit {
					mu.Unlock()
					return
				}
				sent++
				mu.Unlock()
				h := Hit{Target: (w + i) % len(urls), Worker: w, At: time.Now()}
				h.Body, h.Err = get(client, urls[h.Target], vhost)
				h.Took = time.Since(h.At)
				l.mu.Lock()
				l.hits = append(l.hits, h)
				l.mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(l.done) }()
	return l
}

func get(client *http.Client, url, vhost string) ([]byte, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, err
	}
	req.Host = vhost
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: status %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// Count is how many requests have ended so far.
func (l *Load) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.hits)
}

// Finish stops the loop, waits for the requests in flight and returns
// every request it made, in the order they ended.
func (l *Load) Finish() []Hit {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hits
}
