package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/internal/lab"
)

// labApp is a web app of the lab's test image on the first n lab hosts,
// with a service name and proxy host of its own so tests can share the
// lab's kamal-proxy.
func labApp(t testing.TB, n int) (deploy.App, *lab.Lab) {
	l := lab.Require(t, n)
	service := fmt.Sprintf("t%d", rand.Uint32()%1_000_000)
	a := testApp(service, l.Hosts[:n])
	lab.CleanupService(t, l.Hosts, service)
	return a, l
}

// testApp is the lab's test app as service on hosts, the first one
// primary, behind kamal-proxy under the host name service.test.
func testApp(service string, hosts []lab.Host) deploy.App {
	var servers []deploy.Server
	for _, h := range hosts {
		servers = append(servers, deploy.Server{Host: h.Addr, KeyFiles: []string{h.KeyFile},
			KnownHosts: h.KnownHosts, DockerSocket: h.DockerSocket})
	}
	return deploy.App{
		Service: service,
		Image:   lab.TestAppImage,
		Roles: deploy.Roles{"web": {
			Servers: servers,
			Proxy: &deploy.Proxy{
				Hosts:         []string{service + ".test"},
				AppPort:       lab.TestAppPort,
				Health:        health.HTTP{Path: "/up", Interval: 100 * time.Millisecond, Timeout: time.Second},
				DeployTimeout: 10 * time.Second,
				DrainTimeout:  2 * time.Second,
			},
		}},
		Retain: 3,
	}
}

func connect(t testing.TB, a deploy.App, out io.Writer) *deploy.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := deploy.Connect(ctx, a, deploy.Options{Output: out, Performer: "tester"})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// syncBuffer is a bytes.Buffer safe for the executor's concurrent lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hit is one request of a load loop.
type hit struct {
	host    string
	at      time.Time
	version string
	err     error
}

// load sends requests to the proxy of every host, several at a time,
// until stop is closed, or limit requests, or maxTime — whichever comes
// first. It only talks to the lab's own hosts.
type load struct {
	hosts   []string
	vhost   string
	limit   int
	maxTime time.Duration

	mu   sync.Mutex
	hits []hit
	stop chan struct{}
	done chan struct{}
}

func startLoad(hosts []string, vhost string, workers, limit int, maxTime time.Duration) *load {
	l := &load{hosts: hosts, vhost: vhost, limit: limit, maxTime: maxTime, stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: workers, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}}
	deadline := time.After(maxTime)
	var wg sync.WaitGroup
	var sent sync.Mutex
	count := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				case <-deadline:
					return
				default:
				}
				sent.Lock()
				if count >= limit {
					sent.Unlock()
					return
				}
				count++
				sent.Unlock()
				host := hosts[(w+i)%len(hosts)]
				h := hit{host: host, at: time.Now()}
				req, _ := http.NewRequest("GET", "http://"+host+"/", nil)
				req.Host = vhost
				resp, err := client.Do(req)
				if err == nil {
					body, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch {
					case rerr != nil:
						err = rerr
					case resp.StatusCode != http.StatusOK:
						err = fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
					default:
						h.version = strings.TrimSpace(string(body))
					}
				}
				h.err = err
				l.mu.Lock()
				l.hits = append(l.hits, h)
				l.mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(l.done) }()
	return l
}

// finish stops the loop and returns every request it made.
func (l *load) finish() []hit {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hits
}

func failures(hits []hit) []hit {
	var out []hit
	for _, h := range hits {
		if h.err != nil {
			out = append(out, h)
		}
	}
	return out
}

// versionsSeen lists, per host, the versions served in order, runs collapsed.
func versionsSeen(hits []hit) map[string][]string {
	seen := map[string][]string{}
	for _, h := range hits {
		if h.err != nil {
			continue
		}
		vs := seen[h.host]
		if len(vs) == 0 || vs[len(vs)-1] != h.version {
			seen[h.host] = append(vs, h.version)
		}
	}
	return seen
}

func engineExec() engine.ExecOptions { return engine.ExecOptions{} }
